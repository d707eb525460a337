//! Whether the read replica may answer reads: it answers, and it is not further behind the
//! primary than the configured bound. Lag is measured in time, not bytes: the primary's WAL
//! position is sampled with the instant of each sample, and the replica's lag is the age of the
//! oldest sampled position it has not replayed yet (0 when it has replayed them all).
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Longest time one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Primary positions kept while the replica does not replay (one per check).
const MAX_SAMPLES: usize = 10_000;

/// The replica's state as the last check found it.
#[derive(Debug)]
pub struct ReplicaState {
    usable: AtomicBool,
    lag_ms: AtomicU64,
    recheck: Notify,
}

impl Default for ReplicaState {
    fn default() -> Self {
        // Unknown until the first check: reads go to the primary.
        ReplicaState {
            usable: AtomicBool::new(false),
            lag_ms: AtomicU64::new(0),
            recheck: Notify::new(),
        }
    }
}

impl ReplicaState {
    /// Whether reads may go to the replica.
    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// The replica's lag behind the primary at the last check.
    pub fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Relaxed))
    }

    /// A read on the replica failed: reads go to the primary until a check finds it well.
    pub fn suspect(&self) {
        if self.usable.swap(false, Ordering::Relaxed) {
            tracing::warn!("read replica failed: reads go to the primary");
        }
        self.recheck.notify_one();
    }
}

async fn position(conn: &DatabaseConnection, sql: &str) -> Result<Option<i64>, ()> {
    let stmt = Statement::from_string(DbBackend::Postgres, sql);
    let row = tokio::time::timeout(CHECK_TIMEOUT, conn.query_one_raw(stmt)).await;
    match row {
        Ok(Ok(Some(row))) => row.try_get_by_index::<Option<i64>>(0).map_err(|_| ()),
        _ => Err(()),
    }
}

/// Checks the replica every `every` (and when a read on it failed) until the process ends.
pub(crate) async fn watch(
    primary: DatabaseConnection,
    replica: DatabaseConnection,
    state: Arc<ReplicaState>,
    max_lag: Duration,
    every: Duration,
) {
    let mut samples: VecDeque<(Instant, i64)> = VecDeque::new();
    loop {
        let now = Instant::now();
        let primary_at =
            position(&primary, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").await;
        let replayed =
            position(&replica, "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint").await;
        if let Ok(Some(p)) = primary_at
            && samples.back().is_none_or(|(_, last)| *last < p)
        {
            samples.push_back((now, p));
            if samples.len() > MAX_SAMPLES {
                samples.pop_front();
            }
        }
        let verdict = match replayed {
            Err(()) => None,
            // Not a streaming standby (a copy kept by other means): no lag to measure.
            Ok(None) => Some(Duration::ZERO),
            Ok(Some(r)) => {
                while samples.front().is_some_and(|(_, p)| *p <= r) {
                    samples.pop_front();
                }
                Some(samples.front().map_or(Duration::ZERO, |(at, _)| now - *at))
            }
        };
        let usable = verdict.is_some_and(|lag| lag <= max_lag);
        let lag = verdict.unwrap_or_default();
        state.lag_ms.store(lag.as_millis() as u64, Ordering::Relaxed);
        let was = state.usable.swap(usable, Ordering::Relaxed);
        match (was, usable, verdict) {
            (true, false, None) => {
                tracing::warn!("read replica unreachable: reads go to the primary")
            }
            (true, false, Some(lag)) => {
                tracing::warn!(
                    lag_ms = lag.as_millis() as u64,
                    "read replica lagging: reads go to the primary"
                )
            }
            (false, true, _) => tracing::info!("read replica in use"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = state.recheck.notified() => {}
        }
    }
}
