//! The pull connectors as operators see and steer them: each configured connector's state
//! (shared by every replica through the database), and pausing, resuming or running one now
//! — written, then announced so the replica holding it looks at once.
use super::Notifier;
use crate::{
    Error, Result,
    auth::{
        Principal,
        policy::{self, Access, Action},
    },
    connectors::{Connectors, Kind},
    events::Signal,
    store::{
        Db,
        connectors::{self as state, Tally},
    },
};
use chrono::{DateTime, Duration, Utc};

/// Where a connector stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Pulling on its interval (its last run succeeded, or it has not run yet).
    Running,
    /// Its last run failed: retried after a backoff.
    Failing,
    /// Paused by an operator.
    Paused,
}

/// One connector's state and figures.
#[derive(Debug, Clone)]
pub struct Status {
    /// Its name.
    pub name: String,
    /// Its kind as configured (`open311`, `json_feed`, `csv_drop`).
    pub kind: &'static str,
    /// Running, failing or paused.
    pub condition: Condition,
    /// The replica holding its lease now, if any does.
    pub holder: Option<String>,
    /// Its last run's end.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Its last successful run's end.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Its last error.
    pub last_error: Option<String>,
    /// When that error happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    pub failures: i32,
    /// When the next run is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Where the next run starts (JSON).
    pub checkpoint: Option<String>,
    /// Items of the last hour.
    pub last_hour: Tally,
    /// Items of the last day.
    pub last_day: Tally,
}

/// The kind's configuration name.
pub fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Open311(_) => "open311",
        Kind::JsonFeed(_) => "json_feed",
        Kind::CsvDrop(_) => "csv_drop",
    }
}

/// Every configured connector's state, in file order (no policy check: the metrics use it).
pub async fn statuses(db: &Db, connectors: &Connectors, now: DateTime<Utc>) -> Result<Vec<Status>> {
    let mut rows = state::all(db, now - Duration::hours(1), now - Duration::days(1)).await?;
    let mut out = Vec::with_capacity(connectors.0.len());
    for c in &connectors.0 {
        let found = rows.iter().position(|(s, ..)| s.name == c.name).map(|i| rows.swap_remove(i));
        let Some((s, last_hour, last_day)) = found else {
            // Not started on any replica yet.
            out.push(Status {
                name: c.name.clone(),
                kind: kind_name(&c.kind),
                condition: Condition::Running,
                holder: None,
                last_run_at: None,
                last_success_at: None,
                last_error: None,
                last_error_at: None,
                failures: 0,
                next_attempt_at: None,
                checkpoint: None,
                last_hour: Tally::default(),
                last_day: Tally::default(),
            });
            continue;
        };
        let condition = match (s.paused, s.failures) {
            (true, _) => Condition::Paused,
            (false, 0) => Condition::Running,
            _ => Condition::Failing,
        };
        let holder = s.lease_owner.filter(|_| s.lease_until.is_some_and(|t| t >= now));
        out.push(Status {
            name: s.name,
            kind: kind_name(&c.kind),
            condition,
            holder,
            last_run_at: s.last_run_at,
            last_success_at: s.last_success_at,
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            failures: s.failures,
            next_attempt_at: s.next_attempt_at,
            checkpoint: s.checkpoint,
            last_hour,
            last_day,
        });
    }
    Ok(out)
}

/// The connectors' state, for a principal whose role may see it.
pub async fn list(
    db: &Db,
    principal: &Principal,
    connectors: &Connectors,
    now: DateTime<Utc>,
) -> Result<Vec<Status>> {
    if policy::policy_of(principal.role).connectors == Access::Deny {
        let role = principal.role.as_str();
        return Err(Error::Forbidden(format!("role `{role}` may not see the connectors")));
    }
    statuses(db, connectors, now).await
}

/// What an operator asks of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Stop pulling until resumed.
    Pause,
    /// Pull on the interval again.
    Resume,
    /// Pull at once (when not paused).
    RunNow,
}

/// Applies `request` to connector `name`; its state after.
pub async fn steer(
    db: &Db,
    notifier: &Notifier,
    principal: &Principal,
    connectors: &Connectors,
    name: &str,
    request: Request,
) -> Result<Status> {
    if !policy::may(principal, Action::ControlConnectors) {
        let role = principal.role.as_str();
        return Err(Error::Forbidden(format!("role `{role}` may not steer connectors")));
    }
    if !connectors.0.iter().any(|c| c.name == name) {
        return Err(Error::NotFound(format!("connector `{name}`")));
    }
    state::ensure(db, &[name.to_owned()]).await?;
    match request {
        Request::Pause => state::set_paused(db, name, true).await?,
        Request::Resume => state::set_paused(db, name, false).await?,
        Request::RunNow => state::request_run(db, name).await?,
    };
    notifier.bus.publish(Signal::Connectors).await;
    let now = Utc::now();
    statuses(db, connectors, now)
        .await?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Internal(format!("connector `{name}` vanished")))
}
