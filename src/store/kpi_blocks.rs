//! The KPI rollup (`kpi_block`): one packed entry per complaint in a block per local day and
//! municipality, changed in the same transaction as every write that changes an entry, and
//! filled from the complaints when it is empty (first start after the migration, a seed).
use crate::Result;
use crate::domain::kpi::{ENTRY_BYTES, Entry, Parts, local_day};
use entity::{ComplaintStatus, complaint, kpi_block};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    TransactionTrait, sea_query::OnConflict,
};
use std::collections::{BTreeMap, HashSet};

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

/// Applies `changes` inside `tx`: each block is locked once, in key order (so concurrent
/// writers never deadlock), then rewritten.
pub async fn apply(tx: &DatabaseTransaction, changes: Vec<Change>) -> Result<()> {
    let mut by_block: BTreeMap<BlockKey, Vec<Change>> = BTreeMap::new();
    for c in changes.into_iter().filter(|c| c.old != Some(c.new)) {
        by_block.entry(c.block.clone()).or_default().push(c);
    }
    if by_block.is_empty() {
        return Ok(());
    }
    // Missing blocks are created empty first, so every writer then locks an existing row.
    let empty = by_block.keys().map(|(day, municipality)| kpi_block::ActiveModel {
        day: sea_orm::Set(day.clone()),
        municipality_id: sea_orm::Set(*municipality),
        entries: sea_orm::Set(Vec::new()),
    });
    let insert = kpi_block::Entity::insert_many(empty)
        .on_conflict(
            OnConflict::columns([kpi_block::Column::Day, kpi_block::Column::MunicipalityId])
                .do_nothing()
                .to_owned(),
        )
        .into_query();
    tx.execute_raw(tx.get_database_backend().build(&insert)).await?;
    let mut wanted = Condition::any();
    for (day, municipality) in by_block.keys() {
        wanted = wanted.add(
            Condition::all()
                .add(kpi_block::Column::Day.eq(day.as_str()))
                .add(kpi_block::Column::MunicipalityId.eq(*municipality)),
        );
    }
    let mut query = kpi_block::Entity::find()
        .filter(wanted)
        .order_by_asc(kpi_block::Column::Day)
        .order_by_asc(kpi_block::Column::MunicipalityId);
    if tx.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    for block in query.all(tx).await? {
        let key = (block.day, block.municipality_id);
        let Some(changes) = by_block.get(&key) else { continue };
        let mut entries = block.entries;
        for c in changes {
            if let Some(old) = c.old {
                remove(&mut entries, &old, &key);
            }
            c.new.pack(&mut entries);
        }
        kpi_block::Entity::update_many()
            .col_expr(kpi_block::Column::Entries, entries.into())
            .filter(kpi_block::Column::Day.eq(key.0.as_str()))
            .filter(kpi_block::Column::MunicipalityId.eq(key.1))
            .exec(tx)
            .await?;
    }
    Ok(())
}

/// Removes one entry equal to `old` (any of equal ones: they are interchangeable).
fn remove(entries: &mut Vec<u8>, old: &Entry, key: &BlockKey) {
    let mut packed = Vec::with_capacity(ENTRY_BYTES);
    old.pack(&mut packed);
    let at = entries.chunks_exact(ENTRY_BYTES).position(|e| e == packed.as_slice());
    match at {
        Some(i) => {
            let last = entries.len() - ENTRY_BYTES;
            let start = i * ENTRY_BYTES;
            entries.copy_within(last.., start);
            entries.truncate(last);
        }
        // Only a hand edit of the complaint table gets here; `rebuild` repairs it.
        None => tracing::error!(day = %key.0, municipality = key.1, "KPI rollup entry not found"),
    }
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
    if kpi_block::Entity::find().count(db).await? > 0
        || complaint::Entity::find().count(db).await? == 0
    {
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
        let rows = Parts::select(complaint::Entity::find())
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
    let models: Vec<kpi_block::ActiveModel> = blocks
        .into_iter()
        .map(|((day, municipality_id), entries)| kpi_block::ActiveModel {
            day: sea_orm::Set(day),
            municipality_id: sea_orm::Set(municipality_id),
            entries: sea_orm::Set(entries),
        })
        .collect();
    for chunk in models.chunks(200) {
        kpi_block::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
    }
    tx.commit().await?;
    Ok(entered)
}

/// Blocks of the local days `first..=last` (of one municipality, if given).
pub async fn read(
    db: &DatabaseConnection,
    first: &str,
    last: &str,
    municipality_id: Option<i32>,
) -> Result<Vec<kpi_block::Model>> {
    let mut query = kpi_block::Entity::find()
        .filter(kpi_block::Column::Day.gte(first))
        .filter(kpi_block::Column::Day.lte(last));
    if let Some(m) = municipality_id {
        query = query.filter(kpi_block::Column::MunicipalityId.eq(m));
    }
    Ok(query.all(db).await?)
}
