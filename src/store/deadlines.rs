//! The deadline watch: finds open complaints whose first-response or resolution deadline has
//! just passed and records each breach once — an outbox event (for subscriptions) and a line
//! in the complaint's history. Replicas race for a transaction-scoped advisory lock on
//! Postgres, so one of them does each tick; the outbox's unique key makes a double report
//! impossible even without it.
use super::{
    Db,
    actor::{Actor, status_line},
    events::{Kind, NewEvent},
    scope::Scoped,
};
use crate::Result;
use chrono::{DateTime, Duration, Utc};
use entity::{ComplaintStatus, complaint::Column as C, complaint_event};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Statement, sea_query::OnConflict,
};

/// Who breaches are recorded as in the history.
pub const WATCH_ACTOR: &str = "deadline-watch";
/// Breaches handled per tick (the next tick takes the rest).
const PER_TICK: u64 = 5_000;
/// The advisory lock key of the watch (any constant shared by the replicas).
const LOCK_KEY: i64 = 0x00C0_FFEE_0086;

/// The two deadlines a complaint can miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// No public response by the first-response deadline.
    FirstResponse,
    /// Not resolved by the resolution deadline.
    Resolution,
}

impl Breach {
    /// The outbox kind.
    pub fn kind(self) -> &'static str {
        self.event().as_str()
    }

    fn event(self) -> Kind {
        match self {
            Breach::FirstResponse => Kind::OverdueFirstResponse,
            Breach::Resolution => Kind::OverdueResolution,
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Breach::FirstResponse => "Истёк срок первого ответа",
            Breach::Resolution => "Истёк срок решения",
        }
    }
}

/// (id, status, first response at, first response due, resolution due) of a candidate.
type Deadlines = (i64, ComplaintStatus, Option<DateTime<Utc>>, DateTime<Utc>, DateTime<Utc>);

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Another replica held the lock: nothing done here.
    pub skipped: bool,
    /// Breaches recorded now.
    pub reported: usize,
}

/// One pass at `now`, over deadlines that passed within `lookback`.
pub async fn tick(db: &Db, now: DateTime<Utc>, lookback: Duration) -> Result<Tick> {
    let (tx, _writer) = db.begin_write().await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        let sql = format!("SELECT pg_try_advisory_xact_lock({LOCK_KEY})");
        let row = tx.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
        if !row.map(|r| r.try_get_by_index::<bool>(0)).transpose()?.unwrap_or(false) {
            return Ok(Tick { skipped: true, reported: 0 });
        }
    }
    let since = now - lookback;
    let open = C::Status.is_not_in([ComplaintStatus::Resolved, ComplaintStatus::Rejected]);
    let first_late = Condition::all()
        .add(C::FirstResponseAt.is_null())
        .add(C::FirstResponseDueAt.gt(since))
        .add(C::FirstResponseDueAt.lte(now));
    let resolution_late =
        Condition::all().add(C::ResolutionDueAt.gt(since)).add(C::ResolutionDueAt.lte(now));
    let candidates: Vec<Deadlines> = Scoped::system()
        .complaints(tx.get_database_backend())
        .select_only()
        .columns([C::Id, C::Status, C::FirstResponseAt, C::FirstResponseDueAt, C::ResolutionDueAt])
        .filter(open)
        .filter(Condition::any().add(first_late).add(resolution_late))
        .limit(PER_TICK)
        .into_tuple()
        .all(&tx)
        .await?;
    let mut breaches = Vec::new();
    for (id, status, first_at, first_due, resolution_due) in candidates {
        if first_at.is_none() && first_due > since && first_due <= now {
            breaches.push((id, status, Breach::FirstResponse, first_due));
        }
        if resolution_due > since && resolution_due <= now {
            breaches.push((id, status, Breach::Resolution, resolution_due));
        }
    }
    if breaches.is_empty() {
        tx.commit().await?;
        return Ok(Tick::default());
    }
    // Subscribers receive the complaint as it is at the breach: the whole row.
    let ids: Vec<i64> = breaches.iter().map(|b| b.0).collect();
    let complaints: std::collections::HashMap<i64, _> = Scoped::system()
        .complaints(tx.get_database_backend())
        .filter(C::Id.is_in(ids))
        .all(&tx)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let rows = breaches
        .iter()
        .filter_map(|(id, _, breach, due)| {
            let complaint = complaints.get(id)?;
            let event =
                NewEvent { kind: breach.event(), complaint, previous_department: None, at: *due };
            Some(event.row(Some(format!("{}:{id}", breach.kind()))))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut insert = complaint_event::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(complaint_event::Column::DedupKey).do_nothing().to_owned())
        .into_query();
    insert.returning_col(complaint_event::Column::DedupKey);
    let stmt = tx.get_database_backend().build(&insert);
    let fresh: std::collections::HashSet<String> = tx
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let watch = Actor::center(WATCH_ACTOR);
    let history: Vec<_> = breaches
        .iter()
        .filter(|(id, _, breach, _)| fresh.contains(&format!("{}:{id}", breach.kind())))
        .map(|(id, status, breach, due)| {
            let mut e = status_line(*id, Some(*status), *status, &watch, *due);
            e.comment = Set(Some(breach.comment().to_owned()));
            e
        })
        .collect();
    let reported = history.len();
    if !history.is_empty() {
        entity::status_event::Entity::insert_many(history).exec_without_returning(&tx).await?;
    }
    tx.commit().await?;
    Ok(Tick { skipped: false, reported })
}
