//! Pull connectors' shared state: one row per connector, so every replica agrees on who runs
//! it (a lease with an expiry), where it stands (a checkpoint written only by the lease's
//! holder, in the transaction of the rows it covers), and what operators asked of it. Times
//! come from the replica's clock; a lease lasts many times the skew replicas are run with.
use super::Db;
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use entity::{
    connector_file::{self, Column as F},
    connector_state::{self, Column as S},
    connector_tally::{self, Column as T},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, OnConflict},
};
use std::collections::{HashMap, HashSet};

/// Items one page (or one run) brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Registered now.
    pub created: i32,
    /// Delivered before (by this page, an earlier one, or another channel's replay).
    pub duplicates: i32,
    /// Refused, with a reason each.
    pub rejected: i32,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.created += other.created;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
    }

    /// Nothing counted.
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// A file of a drop directory, imported whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// Its name in the directory.
    pub name: String,
    /// SHA-256 of its content: a file rewritten under the same name is a new file.
    pub sha256: String,
    /// Rows it had.
    pub rows: i32,
}

/// A step of a connector committed with the rows it ingested: only by the lease's holder,
/// and only while the lease lasts.
#[derive(Debug, Clone)]
pub struct Advance {
    /// The connector.
    pub connector: String,
    /// The replica holding its lease.
    pub owner: String,
    /// Where the next page starts (`None`: unchanged).
    pub checkpoint: Option<String>,
    /// What the step brought besides the rows written (rejections, in-page repeats); the
    /// written rows' created and duplicate counts are added by the write.
    pub tally: Tally,
    /// A drop-directory file finished by this step.
    pub file: Option<ImportedFile>,
    /// Whether the connector's source takes answers: the complaints registered are noted as
    /// its, so answers to them go back.
    pub answers_back: bool,
    /// The lease's new end.
    pub lease_until: DateTime<Utc>,
}

/// The lease was lost (it expired and another replica took it): nothing of the step is kept.
pub fn lease_lost(connector: &str) -> Error {
    Error::Conflict(format!("connector `{connector}`: this replica no longer holds its lease"))
}

/// Makes sure each connector has its row (a new name starts with no checkpoint).
pub async fn ensure(db: &Db, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let rows = names.iter().map(|name| connector_state::ActiveModel {
        name: Set(name.clone()),
        lease_owner: Set(None),
        lease_until: Set(None),
        checkpoint: Set(None),
        paused: Set(false),
        run_requested: Set(false),
        last_run_at: Set(None),
        last_success_at: Set(None),
        last_error: Set(None),
        last_error_at: Set(None),
        failures: Set(0),
        next_attempt_at: Set(None),
    });
    let insert = connector_state::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(S::Name).do_nothing().to_owned())
        .into_query();
    let _writer = db.writer_turn().await;
    let conn = db.write();
    conn.execute_raw(conn.get_database_backend().build(&insert)).await?;
    Ok(())
}

/// Takes or renews the lease of `connector` for `owner` until `until`, if it is free, expired
/// or already `owner`'s; the state as it is then, when the lease is held.
pub async fn acquire(
    db: &Db,
    connector: &str,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<connector_state::Model>> {
    let free = Condition::any()
        .add(S::LeaseOwner.eq(owner))
        .add(S::LeaseUntil.is_null())
        .add(S::LeaseUntil.lt(now));
    let taken = {
        let _writer = db.writer_turn().await;
        connector_state::Entity::update_many()
            .col_expr(S::LeaseOwner, Expr::value(owner))
            .col_expr(S::LeaseUntil, Expr::value(until))
            .filter(S::Name.eq(connector))
            .filter(free)
            .exec(db.write())
            .await?
            .rows_affected
    };
    if taken == 0 {
        return Ok(None);
    }
    Ok(connector_state::Entity::find_by_id(connector.to_owned()).one(db.write()).await?)
}

/// Gives the lease up (a replica stopping), so another takes it at once.
pub async fn release(db: &Db, connector: &str, owner: &str) -> Result<()> {
    let _writer = db.writer_turn().await;
    connector_state::Entity::update_many()
        .col_expr(S::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(S::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(S::Name.eq(connector))
        .filter(S::LeaseOwner.eq(owner))
        .exec(db.write())
        .await?;
    Ok(())
}

/// Writes `step` in the caller's transaction, or fails with [`lease_lost`] (the caller rolls
/// back) when `step.owner` no longer holds the lease: another replica has taken it. Fenced
/// on the owner alone: a lease that ran out is still this replica's until another takes it
/// (which changes the owner, and waits for this transaction's row lock on Postgres), so a
/// slow page is not thrown away. `written` is what the rows of the transaction counted.
pub async fn advance(
    tx: &impl ConnectionTrait,
    step: &Advance,
    written: Tally,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut update = connector_state::Entity::update_many()
        .col_expr(S::LeaseUntil, Expr::value(step.lease_until))
        .filter(S::Name.eq(step.connector.as_str()))
        .filter(S::LeaseOwner.eq(step.owner.as_str()));
    if let Some(checkpoint) = &step.checkpoint {
        update = update.col_expr(S::Checkpoint, Expr::value(checkpoint.as_str()));
    }
    if update.exec(tx).await?.rows_affected == 0 {
        return Err(lease_lost(&step.connector));
    }
    let mut tally = step.tally;
    tally.add(written);
    if !tally.is_empty() {
        connector_tally::Entity::insert(connector_tally::ActiveModel {
            id: NotSet,
            connector: Set(step.connector.clone()),
            at: Set(now),
            created: Set(tally.created),
            duplicates: Set(tally.duplicates),
            rejected: Set(tally.rejected),
        })
        .exec_without_returning(tx)
        .await?;
    }
    if let Some(file) = &step.file {
        let insert = connector_file::Entity::insert(connector_file::ActiveModel {
            connector: Set(step.connector.clone()),
            name: Set(file.name.clone()),
            sha256: Set(file.sha256.clone()),
            rows: Set(file.rows),
            imported_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([F::Connector, F::Name, F::Sha256]).do_nothing().to_owned(),
        )
        .into_query();
        tx.execute_raw(tx.get_database_backend().build(&insert)).await?;
    }
    Ok(())
}

/// How a run ended, as its holder records it.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// `None` on success, else the error shown to operators.
    pub error: Option<String>,
    /// Failed runs in a row, this one included.
    pub failures: i32,
    /// When the next run is due.
    pub next_attempt_at: DateTime<Utc>,
}

/// Records the end of a run by `owner` (a replica that lost the lease records nothing).
pub async fn finish_run(
    db: &Db,
    connector: &str,
    owner: &str,
    end: &RunEnd,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut update = connector_state::Entity::update_many()
        .col_expr(S::LastRunAt, Expr::value(now))
        .col_expr(S::Failures, Expr::value(end.failures))
        .col_expr(S::NextAttemptAt, Expr::value(end.next_attempt_at))
        .filter(S::Name.eq(connector))
        .filter(S::LeaseOwner.eq(owner));
    update = match &end.error {
        None => update.col_expr(S::LastSuccessAt, Expr::value(now)),
        Some(error) => update
            .col_expr(S::LastError, Expr::value(error.as_str()))
            .col_expr(S::LastErrorAt, Expr::value(now)),
    };
    let _writer = db.writer_turn().await;
    update.exec(db.write()).await?;
    Ok(())
}

/// Takes `owner`'s pending run-now request of `connector` as its run starts (one made during
/// the run stays, and runs it again after).
pub async fn take_run_request(db: &Db, connector: &str, owner: &str) -> Result<()> {
    let _writer = db.writer_turn().await;
    connector_state::Entity::update_many()
        .col_expr(S::RunRequested, Expr::value(false))
        .filter(S::Name.eq(connector))
        .filter(S::LeaseOwner.eq(owner))
        .exec(db.write())
        .await?;
    Ok(())
}

/// Pauses or resumes `connector`; false when there is no such connector.
pub async fn set_paused(db: &Db, connector: &str, paused: bool) -> Result<bool> {
    let _writer = db.writer_turn().await;
    let changed = connector_state::Entity::update_many()
        .col_expr(S::Paused, Expr::value(paused))
        .filter(S::Name.eq(connector))
        .exec(db.write())
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Asks for a run of `connector` as soon as its holder sees it; false when there is no such
/// connector.
pub async fn request_run(db: &Db, connector: &str) -> Result<bool> {
    let _writer = db.writer_turn().await;
    let changed = connector_state::Entity::update_many()
        .col_expr(S::RunRequested, Expr::value(true))
        .filter(S::Name.eq(connector))
        .exec(db.write())
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Every connector's state, and its counts since `hour` and since `day`.
pub async fn all(
    db: &Db,
    hour: DateTime<Utc>,
    day: DateTime<Utc>,
) -> Result<Vec<(connector_state::Model, Tally, Tally)>> {
    let states = connector_state::Entity::find().all(db.write()).await?;
    let (last_hour, last_day) = (sums(db, hour).await?, sums(db, day).await?);
    Ok(states
        .into_iter()
        .map(|s| {
            let (h, d) = (last_hour.get(&s.name), last_day.get(&s.name));
            let (h, d) = (h.copied().unwrap_or_default(), d.copied().unwrap_or_default());
            (s, h, d)
        })
        .collect())
}

/// A connector and its sums of created, duplicate and rejected items (NULL: no rows).
type SumRow = (String, Option<i64>, Option<i64>, Option<i64>);

/// Each connector's counts since `since`, summed in SQL.
async fn sums(db: &Db, since: DateTime<Utc>) -> Result<HashMap<String, Tally>> {
    let rows: Vec<SumRow> = connector_tally::Entity::find()
        .select_only()
        .column(T::Connector)
        .column_as(T::Created.sum(), "created")
        .column_as(T::Duplicates.sum(), "duplicates")
        .column_as(T::Rejected.sum(), "rejected")
        .filter(T::At.gte(since))
        .group_by(T::Connector)
        .into_tuple()
        .all(db.write())
        .await?;
    let count = |n: Option<i64>| i32::try_from(n.unwrap_or(0)).unwrap_or(i32::MAX);
    Ok(rows
        .into_iter()
        .map(|(name, c, d, r)| {
            (name, Tally { created: count(c), duplicates: count(d), rejected: count(r) })
        })
        .collect())
}

/// Deletes counts older than `before`.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64> {
    let _writer = db.writer_turn().await;
    let gone =
        connector_tally::Entity::delete_many().filter(T::At.lt(before)).exec(db.write()).await?;
    Ok(gone.rows_affected)
}

/// The files a drop-directory connector has imported, by (name, SHA-256).
pub async fn imported_files(db: &Db, connector: &str) -> Result<HashSet<(String, String)>> {
    let files: Vec<(String, String)> = connector_file::Entity::find()
        .select_only()
        .columns([F::Name, F::Sha256])
        .filter(F::Connector.eq(connector))
        .into_tuple()
        .all(db.write())
        .await?;
    Ok(files.into_iter().collect())
}

/// A lease's end for one taken at `now` for `ttl`.
pub fn lease_end(now: DateTime<Utc>, ttl: std::time::Duration) -> DateTime<Utc> {
    now + Duration::from_std(ttl).unwrap_or(Duration::seconds(30))
}
