//! The KPI rollup (`kpi_block`): one packed entry per complaint in a block per local day and
//! municipality, changed in the same transaction as every write that changes an entry, and
//! filled from the complaints when it is empty (first start after the migration, a seed).
use super::kpi_parts::{KeptPart, KpiParts};
use super::scope::Scoped;
use crate::Result;
use crate::domain::kpi::local_day;
use crate::domain::kpi_entry::{ENTRY_BYTES, Entry, Parts};
use entity::{ComplaintStatus, complaint, kpi_block};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    TransactionTrait, sea_query::OnConflict,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// A block: (local day, municipality).
pub type BlockKey = (String, i32);

/// The block of a complaint.
pub fn block_of(c: &complaint::Model) -> BlockKey {
    (local_day(c.received_at), c.municipality_id)
}

/// One entry leaving and/or joining a block.
#[derive(Debug, Clone)]
pub struct Change {
    /// The complaint's block (day and municipality never change).
    pub block: BlockKey,
    /// The entry as it was (None: a new complaint).
    pub old: Option<Entry>,
    /// The entry as it is now.
    pub new: Entry,
}

/// One block's share of a write: entries replaced (old, new) and entries added.
#[derive(Default)]
struct BlockChanges {
    replaced: Vec<(Entry, Entry)>,
    added: Vec<Entry>,
}

/// Most entries in one part (48 KB): appending to a busy day rewrites at most this much.
pub const PART_ENTRIES: usize = 1024;

/// Applies `changes` inside `tx`, block by block in key order (so concurrent writers never
/// deadlock): a changed complaint's entry is replaced where it is (its day and municipality
/// never change), a new complaint's entry is appended to the block's last part.
pub async fn apply(tx: &DatabaseTransaction, changes: Vec<Change>) -> Result<()> {
    let mut by_block: BTreeMap<BlockKey, BlockChanges> = BTreeMap::new();
    for c in changes {
        let block = by_block.entry(c.block).or_default();
        match c.old {
            Some(old) if old == c.new => {}
            Some(old) => block.replaced.push((old, c.new)),
            None => block.added.push(c.new),
        }
    }
    for (key, block) in by_block {
        if !block.replaced.is_empty() {
            replace_in(tx, &key, &block.replaced).await?;
        }
        if !block.added.is_empty() {
            append_to(tx, &key, &block.added).await?;
        }
    }
    Ok(())
}

/// The parts of a block, locked for this transaction on Postgres (SQLite has one writer).
fn parts_of(tx: &DatabaseTransaction, key: &BlockKey) -> sea_orm::Select<kpi_block::Entity> {
    let query = kpi_block::Entity::find()
        .filter(kpi_block::Column::Day.eq(key.0.as_str()))
        .filter(kpi_block::Column::MunicipalityId.eq(key.1));
    if tx.get_database_backend() == DbBackend::Postgres { query.lock_exclusive() } else { query }
}

/// A new part generation: random, so that no other write (on any replica, or a rebuild)
/// gives one to different entries. std's `RandomState` keys come from the OS, and each new
/// one differs from the last.
fn fresh_generation() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    std::hash::RandomState::new().build_hasher().finish().cast_signed()
}

async fn save(tx: &DatabaseTransaction, part: &kpi_block::Model) -> Result<()> {
    kpi_block::Entity::update_many()
        .col_expr(kpi_block::Column::Entries, part.entries.clone().into())
        .col_expr(kpi_block::Column::Generation, fresh_generation().into())
        .filter(kpi_block::Column::Day.eq(part.day.as_str()))
        .filter(kpi_block::Column::MunicipalityId.eq(part.municipality_id))
        .filter(kpi_block::Column::Part.eq(part.part))
        .exec(tx)
        .await?;
    Ok(())
}

/// Overwrites each old entry with its new one, in the part that holds it.
async fn replace_in(
    tx: &DatabaseTransaction,
    key: &BlockKey,
    replaced: &[(Entry, Entry)],
) -> Result<()> {
    let mut parts = parts_of(tx, key).order_by_asc(kpi_block::Column::Part).all(tx).await?;
    let mut dirty = vec![false; parts.len()];
    let mut lost = Vec::new();
    for (old, new) in replaced {
        let (mut from, mut to) = (Vec::with_capacity(ENTRY_BYTES), Vec::new());
        old.pack(&mut from);
        new.pack(&mut to);
        let found = parts.iter_mut().enumerate().find_map(|(i, p)| {
            let at = p.entries.chunks_exact(ENTRY_BYTES).position(|e| e == from.as_slice())?;
            p.entries[at * ENTRY_BYTES..(at + 1) * ENTRY_BYTES].copy_from_slice(&to);
            Some(i)
        });
        match found {
            Some(i) => dirty[i] = true,
            None => {
                // Only a hand edit of the complaint table gets here; `rebuild` repairs it.
                tracing::error!(day = %key.0, municipality = key.1, "KPI rollup entry not found");
                lost.push(*new);
            }
        }
    }
    for (part, _) in parts.iter().zip(dirty).filter(|(_, d)| *d) {
        save(tx, part).await?;
    }
    if !lost.is_empty() {
        append_to(tx, key, &lost).await?;
    }
    Ok(())
}

/// Appends entries to the block's last part, opening new parts as parts fill up. A part
/// another writer opened meanwhile is found on the next round.
async fn append_to(tx: &DatabaseTransaction, key: &BlockKey, added: &[Entry]) -> Result<()> {
    if append_in_place(tx, key, added).await? {
        return Ok(());
    }
    let mut pending = added;
    while !pending.is_empty() {
        let last =
            parts_of(tx, key).order_by_desc(kpi_block::Column::Part).limit(1).one(tx).await?;
        let next = match last {
            Some(mut part) => {
                let room = PART_ENTRIES.saturating_sub(part.entries.len() / ENTRY_BYTES);
                if room > 0 {
                    let (now, rest) = pending.split_at(room.min(pending.len()));
                    now.iter().for_each(|e| e.pack(&mut part.entries));
                    save(tx, &part).await?;
                    pending = rest;
                    continue;
                }
                part.part + 1
            }
            None => 0,
        };
        let (now, rest) = pending.split_at(PART_ENTRIES.min(pending.len()));
        let mut entries = Vec::with_capacity(now.len() * ENTRY_BYTES);
        now.iter().for_each(|e| e.pack(&mut entries));
        let insert = kpi_block::Entity::insert(kpi_block::ActiveModel {
            day: sea_orm::Set(key.0.clone()),
            municipality_id: sea_orm::Set(key.1),
            part: sea_orm::Set(next),
            entries: sea_orm::Set(entries),
            generation: sea_orm::Set(fresh_generation()),
        })
        .on_conflict(
            OnConflict::columns([
                kpi_block::Column::Day,
                kpi_block::Column::MunicipalityId,
                kpi_block::Column::Part,
            ])
            .do_nothing()
            .to_owned(),
        )
        .into_query();
        let done = tx.execute_raw(tx.get_database_backend().build(&insert)).await?;
        if done.rows_affected() > 0 {
            pending = rest;
        }
    }
    Ok(())
}

/// On Postgres, appends `added` to the block's last part in one UPDATE when they all fit:
/// the part stays in the database, where reading it (`FOR UPDATE`) and writing it back sent
/// up to 48 KB each way for every ingested complaint. False when nothing was written (no
/// part yet, the last one full, or SQLite, whose `||` makes text of blobs): `append_to`'s
/// rounds do it then. The UPDATE takes the part's row lock itself; a writer that waited on
/// it sees the part as that lock's holder left it (the room is checked again).
async fn append_in_place(
    tx: &DatabaseTransaction,
    key: &BlockKey,
    added: &[Entry],
) -> Result<bool> {
    if tx.get_database_backend() != DbBackend::Postgres || added.len() > PART_ENTRIES {
        return Ok(false);
    }
    const SQL: &str = "UPDATE kpi_block SET entries = entries || $1, generation = $2 \
        WHERE day = $3 AND municipality_id = $4 AND length(entries) <= $5 \
          AND part = (SELECT MAX(part) FROM kpi_block WHERE day = $3 AND municipality_id = $4)";
    let mut entries = Vec::with_capacity(added.len() * ENTRY_BYTES);
    added.iter().for_each(|e| e.pack(&mut entries));
    let room = ((PART_ENTRIES - added.len()) * ENTRY_BYTES) as i32;
    let values = [
        entries.into(),
        fresh_generation().into(),
        key.0.as_str().into(),
        key.1.into(),
        room.into(),
    ];
    let done =
        tx.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, SQL, values)).await?;
    Ok(done.rows_affected() > 0)
}

/// How many times complaint `id` has been REOPENED.
pub async fn reopenings(tx: &DatabaseTransaction, id: i64) -> Result<u64> {
    Ok(entity::status_event::Entity::find()
        .filter(entity::status_event::Column::ComplaintId.eq(id))
        .filter(entity::status_event::Column::ToStatus.eq(ComplaintStatus::Reopened))
        .count(tx)
        .await?)
}

/// Fills the rollup from the complaints if it is empty while complaints exist. Returns the
/// number of complaints entered (0: nothing to do).
pub async fn ensure(db: &DatabaseConnection) -> Result<u64> {
    let any_block = kpi_block::Entity::find().one(db).await?.is_some();
    let any_complaint = Scoped::system()
        .complaints(db.get_database_backend())
        .select_only()
        .column(complaint::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some();
    if any_block || !any_complaint {
        return Ok(0);
    }
    rebuild(db).await
}

/// Recomputes every block from the complaints, in one transaction (on Postgres the table is
/// locked against writers meanwhile). Returns the number of complaints entered.
pub async fn rebuild(db: &DatabaseConnection) -> Result<u64> {
    let tx = db.begin().await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared("LOCK TABLE kpi_block IN EXCLUSIVE MODE").await?;
    }
    kpi_block::Entity::delete_many().exec(&tx).await?;
    let reopened: HashSet<i64> = tx
        .query_all_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT DISTINCT complaint_id FROM status_event WHERE to_status = 'REOPENED'",
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<std::result::Result<_, _>>()?;
    let mut blocks: BTreeMap<BlockKey, Vec<u8>> = BTreeMap::new();
    let (mut after, mut entered) = (0i64, 0u64);
    loop {
        // Keyset pages of narrow rows keep memory flat on a million complaints.
        let rows = Parts::select(Scoped::system().complaints(tx.get_database_backend()))
            .filter(complaint::Column::Id.gt(after))
            .order_by_asc(complaint::Column::Id)
            .limit(50_000)
            .into_model::<Parts>()
            .all(&tx)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for p in &rows {
            let block = blocks.entry((local_day(p.received_at), p.municipality_id)).or_default();
            Entry::from_parts(p, reopened.contains(&p.id)).pack(block);
        }
        entered += rows.len() as u64;
    }
    let mut models = Vec::new();
    for ((day, municipality_id), entries) in blocks {
        for (part, chunk) in entries.chunks(PART_ENTRIES * ENTRY_BYTES).enumerate() {
            models.push(kpi_block::ActiveModel {
                day: sea_orm::Set(day.clone()),
                municipality_id: sea_orm::Set(municipality_id),
                part: sea_orm::Set(i32::try_from(part).unwrap_or(i32::MAX)),
                entries: sea_orm::Set(chunk.to_vec()),
                generation: sea_orm::Set(fresh_generation()),
            });
        }
    }
    for chunk in models.chunks(200) {
        kpi_block::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
    }
    tx.commit().await?;
    Ok(entered)
}

/// Most parts fetched by key in one statement.
const FETCH_KEYS: usize = 200;

/// The parts of the local days `first..=last` (of one municipality, if given): the kept ones
/// still at their generation, the others read. The generations are listed first; a part
/// written between the list and the fetch comes at its newer generation.
pub async fn read(
    db: &DatabaseConnection,
    kept: &KpiParts,
    first: &str,
    last: &str,
    municipality_id: Option<i32>,
) -> Result<Vec<Arc<KeptPart>>> {
    let window = || {
        let query = kpi_block::Entity::find()
            .filter(kpi_block::Column::Day.gte(first))
            .filter(kpi_block::Column::Day.lte(last));
        match municipality_id {
            Some(m) => query.filter(kpi_block::Column::MunicipalityId.eq(m)),
            None => query,
        }
    };
    let listed: Vec<(String, i32, i32, i64)> = window()
        .select_only()
        .columns([
            kpi_block::Column::Day,
            kpi_block::Column::MunicipalityId,
            kpi_block::Column::Part,
            kpi_block::Column::Generation,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let mut parts = Vec::with_capacity(listed.len());
    let mut missing = Vec::new();
    for (day, municipality_id, part, generation) in listed {
        let key = (day, municipality_id, part);
        match kept.get(&key, generation) {
            Some(p) => parts.push(p),
            None => missing.push(key),
        }
    }
    if missing.len() > parts.len() {
        // Mostly unknown (a first read): the whole window in one statement.
        parts.clear();
        missing.clear();
        for part in window().all(db).await? {
            let part = KeptPart::new(part);
            kept.keep(&part);
            parts.push(part);
        }
    }
    for keys in missing.chunks(FETCH_KEYS) {
        let any = keys.iter().fold(Condition::any(), |any, (day, municipality_id, part)| {
            any.add(
                Condition::all()
                    .add(kpi_block::Column::Day.eq(day.as_str()))
                    .add(kpi_block::Column::MunicipalityId.eq(*municipality_id))
                    .add(kpi_block::Column::Part.eq(*part)),
            )
        });
        for part in kpi_block::Entity::find().filter(any).all(db).await? {
            let part = KeptPart::new(part);
            kept.keep(&part);
            parts.push(part);
        }
    }
    Ok(parts)
}
