//! Whether the primary database answers, as the gateway last saw it. A request that meets an
//! outage has the watcher ping it at once, and then until it answers again. While it is
//! down, requests fail at once (UNAVAILABLE) instead of each waiting out the pool's acquire
//! timeout, `/readyz` is red, and the background work (deadline watch, live hub) pauses.
use sea_orm::DatabaseConnection;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;
use tokio::sync::Notify;

/// How often an up database is pinged anyway (an outage no request has met yet).
const UP_INTERVAL: Duration = Duration::from_secs(5);
/// How often a down database is pinged.
const DOWN_INTERVAL: Duration = Duration::from_millis(250);
/// Longest time one ping may take.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The last known state of the database connections.
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    suspect: Notify,
}

impl Health {
    /// Whether the database is known to be unreachable.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// A request met an outage: the watcher pings the primary now (the outage may have been
    /// the replica's, which does not make the primary down).
    pub fn suspect(&self) {
        self.suspect.notify_one();
    }

    fn set(&self, up: bool) {
        let was_down = self.down.swap(!up, Ordering::Relaxed);
        match (was_down, up) {
            (true, true) => tracing::info!("database reachable again"),
            (false, false) => tracing::warn!("database unreachable: requests fail fast"),
            _ => {}
        }
    }

    /// Pings the primary `conn` until the process ends.
    pub(crate) async fn watch(self: Arc<Self>, conn: DatabaseConnection) {
        loop {
            let every = if self.is_down() { DOWN_INTERVAL } else { UP_INTERVAL };
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.suspect.notified() => {}
            }
            let up = matches!(tokio::time::timeout(PING_TIMEOUT, conn.ping()).await, Ok(Ok(())));
            self.set(up);
        }
    }
}
