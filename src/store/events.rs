//! The outbox: every change to a complaint writes its events here in the change's own
//! transaction; subscriptions read them back in position order, through the row scope.
//!
//! A position is (`tx`, `id`): on Postgres `tx` is the writing transaction's id and a read
//! returns only events below the oldest transaction still running, so an event that commits
//! late can never appear behind a position a reader has already passed. SQLite writes one
//! transaction at a time: `tx` is 0 and ids come in commit order.
use super::scope::Scoped;
use crate::{Error, Result};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::{
    complaint,
    complaint_event::{self, Column as E},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

/// What happened to a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Registered.
    Created,
    /// Routed to a department (or handed to another).
    Assigned,
    /// Moved through the lifecycle.
    StatusChanged,
    /// Answered, or given an internal note.
    Responded,
    /// Its first-response deadline passed.
    OverdueFirstResponse,
    /// Its resolution deadline passed.
    OverdueResolution,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "CREATED",
            Kind::Assigned => "ASSIGNED",
            Kind::StatusChanged => "STATUS_CHANGED",
            Kind::Responded => "RESPONDED",
            Kind::OverdueFirstResponse => "OVERDUE_FIRST_RESPONSE",
            Kind::OverdueResolution => "OVERDUE_RESOLUTION",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        [
            Kind::Created,
            Kind::Assigned,
            Kind::StatusChanged,
            Kind::Responded,
            Kind::OverdueFirstResponse,
            Kind::OverdueResolution,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Where an event stands in the outbox; events are delivered in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Position {
    /// The writing transaction (0 on SQLite).
    pub tx: i64,
    /// The row id.
    pub id: i64,
}

impl Position {
    /// The position of event `e`.
    pub fn of(e: &complaint_event::Model) -> Self {
        Position { tx: e.tx, id: e.id }
    }

    /// The opaque cursor clients resume from.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("ev1:{}:{}", self.tx, self.id))
    }

    /// The position a cursor names; BAD_USER_INPUT for anything else.
    pub fn decode(cursor: &str) -> Result<Self> {
        let bad = || Error::bad_input(format!("`after` is not an event cursor: {cursor:?}"));
        let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(text).map_err(|_| bad())?;
        let mut parts = text.strip_prefix("ev1:").ok_or_else(bad)?.split(':');
        let (Some(tx), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        Ok(Position { tx: tx.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }
}

/// One event to write.
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// What happened.
    pub kind: Kind,
    /// The complaint as it is after it.
    pub complaint: &'a complaint::Model,
    /// Its department before, on a reassignment.
    pub previous_department: Option<i32>,
    /// When.
    pub at: DateTime<Utc>,
}

impl NewEvent<'_> {
    /// The row to insert (`tx` is the database's default).
    pub(super) fn row(&self, dedup_key: Option<String>) -> Result<complaint_event::ActiveModel> {
        let c = self.complaint;
        let snapshot = serde_json::to_string(c)
            .map_err(|e| Error::Internal(format!("complaint {} does not serialize: {e}", c.id)))?;
        Ok(complaint_event::ActiveModel {
            id: NotSet,
            complaint_id: Set(c.id),
            kind: Set(self.kind.as_str().to_owned()),
            at: Set(self.at),
            dedup_key: Set(dedup_key),
            tx: NotSet,
            department_id: Set(c.department_id),
            previous_department_id: Set(self.previous_department),
            municipality_id: Set(Some(c.municipality_id)),
            is_public: Set(c.is_public),
            snapshot: Set(Some(snapshot)),
        })
    }
}

/// Writes `events` in the caller's transaction.
pub async fn append(tx: &impl ConnectionTrait, events: &[NewEvent<'_>]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events.iter().map(|e| e.row(None)).collect::<Result<Vec<_>>>()?;
    // SQLite binds at most 32,766 parameters a statement; an event binds 10.
    for chunk in rows.chunks(2_000) {
        complaint_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
    }
    Ok(())
}

/// Below the oldest transaction still running: every event there has committed or never will.
fn settled(backend: DbBackend) -> Option<Condition> {
    (backend == DbBackend::Postgres).then(|| {
        Condition::all().add(
            Expr::col(E::Tx)
                .lt(Expr::cust("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")),
        )
    })
}

/// Events after `after`. The `tx >=` bound is implied by the rest, but only it bounds the
/// position index's range: without it Postgres read the outbox from its first row on every
/// poll (7.6 ms at 8,786 events, against 0.25 ms; one poll follows every write).
fn past(after: Position) -> Condition {
    let later = Condition::any()
        .add(E::Tx.gt(after.tx))
        .add(Condition::all().add(E::Tx.eq(after.tx)).add(E::Id.gt(after.id)));
    Condition::all().add(E::Tx.gte(after.tx)).add(later)
}

/// Up to `limit` settled events in scope after `after`, in position order.
pub async fn after(
    db: &DatabaseConnection,
    scoped: Scoped,
    after: Position,
    limit: u64,
) -> Result<Vec<complaint_event::Model>> {
    let mut select = scoped.events().filter(past(after));
    if let Some(settled) = settled(db.get_database_backend()) {
        select = select.filter(settled);
    }
    Ok(select.order_by_asc(E::Tx).order_by_asc(E::Id).limit(limit).all(db).await?)
}

/// The position of the last settled event (the default: nothing yet).
pub async fn tip(db: &DatabaseConnection) -> Result<Position> {
    let mut select = complaint_event::Entity::find();
    if let Some(settled) = settled(db.get_database_backend()) {
        select = select.filter(settled);
    }
    let last = select.order_by_desc(E::Tx).order_by_desc(E::Id).one(db).await?;
    Ok(last.as_ref().map(Position::of).unwrap_or_default())
}

/// Deletes events from before `before`; the number deleted.
pub async fn prune(db: &super::Db, before: DateTime<Utc>) -> Result<u64> {
    let _writer = db.writer_turn().await;
    let deleted =
        complaint_event::Entity::delete_many().filter(E::At.lt(before)).exec(db.write()).await?;
    Ok(deleted.rows_affected)
}

/// The complaint after event `e`, from its snapshot (`None` for a row written before the
/// outbox kept snapshots).
pub fn snapshot(e: &complaint_event::Model) -> Option<complaint::Model> {
    e.snapshot.as_deref().and_then(|s| serde_json::from_str(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::QueryTrait;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let p = Position { tx: 812, id: 9 };
        assert_eq!(Position::decode(&p.encode()).expect("decodes"), p);
        for bad in ["", "abc", &URL_SAFE_NO_PAD.encode("ev1:1"), &URL_SAFE_NO_PAD.encode("x:1:2")] {
            assert!(Position::decode(bad).is_err(), "{bad:?}");
        }
        assert!(Position { tx: 1, id: 50 } < Position { tx: 2, id: 3 }, "tx orders first");
    }

    #[test]
    fn reading_past_a_position_bounds_the_position_index_from_below() {
        let select = complaint_event::Entity::find().filter(past(Position { tx: 812, id: 9 }));
        let sql = select.build(DbBackend::Postgres).to_string();
        // A top-level AND of `tx >= 812`: the index range starts there, not at the first event.
        assert!(sql.contains(r#"WHERE "complaint_event"."tx" >= 812 AND ("#), "{sql}");
    }
}
