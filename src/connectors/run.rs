//! The connectors inside the gateway: one task per connector on every replica, of which only
//! the lease's holder pulls. The holder renews the lease on each check and each page; a
//! replica that dies stops renewing, and another takes the connector over from its stored
//! checkpoint once the lease runs out. Runs follow the stored schedule (`next_attempt_at`:
//! the interval after a success, an exponential backoff with jitter after a failure, never
//! sooner than the source's `Retry-After`), so a takeover keeps it too. Pulls run on their own
//! tasks and connections' turns: requests are never waiting on them.
use super::{
    config::{Connector, Connectors},
    deliver,
    fetch::{FetchError, SourceClient},
    items::Towns,
    pull::{self, Checkpoint, Pass, RunError},
};
use crate::state::Phase;
use crate::{
    events::Signal,
    service::{Notifier, import},
    store::{Db, connectors as state},
};
use chrono::Utc;
use rand::{Rng as _, SeedableRng};
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;

/// First retry after a failure; doubled per failure in a row.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Longest backoff.
const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Longest `Retry-After` honoured (a source cannot park a connector for days).
const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);
/// Longest error text kept for operators.
const ERROR_CHARS: usize = 500;
/// How long pull counts are kept (the status shows the last day).
const TALLY_DAYS: i64 = 2;

/// What every connector task shares.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    notifier: Notifier,
    /// This replica's name in leases: host, process and a random part.
    owner: Arc<str>,
    lease: Duration,
}

impl Runner {
    /// A runner for this replica; `lease` is how long a lease lasts unrenewed.
    pub fn new(db: Db, notifier: Notifier, lease: Duration) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".into());
        let nonce: u32 = rand_chacha::ChaCha8Rng::seed_from_u64(seed()).random();
        let owner = format!("{host}:{}:{nonce:08x}", std::process::id());
        Runner { db, notifier, owner: owner.into(), lease: lease.max(Duration::from_secs(1)) }
    }

    /// This replica's lease name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Starts a task per connector; they end when the gateway starts stopping (a holder
    /// gives its lease up as it ends, so another replica need not wait for it to run out).
    pub(crate) async fn start(
        self,
        connectors: &Connectors,
        stop: watch::Receiver<Phase>,
    ) -> crate::Result<Vec<tokio::task::JoinHandle<()>>> {
        if connectors.0.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = connectors.0.iter().map(|c| c.name.clone()).collect();
        state::ensure(&self.db, &names).await?;
        let towns = Arc::new(import::municipality_names(&self.db).await?);
        let mut tasks = Vec::new();
        for connector in &connectors.0 {
            let client = SourceClient::new(connector).map_err(|e| {
                crate::Error::Startup(format!("connector `{}`: {e}", connector.name))
            })?;
            let (me, c, towns, stop) =
                (self.clone(), connector.clone(), towns.clone(), stop.clone());
            tasks.push(tokio::spawn(async move { me.keep(c, client, towns, stop).await }));
        }
        let signals = self.notifier.bus.subscribe();
        if let Some(sender) =
            deliver::start(self.db.clone(), &self.owner, connectors, signals, stop.clone())?
        {
            tasks.push(sender);
        }
        let (me, stop) = (self.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { me.prune_counts(stop).await }));
        Ok(tasks)
    }

    /// How often a standby replica tries the lease and a holder renews it.
    fn check_every(&self) -> Duration {
        (self.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
    }

    /// One connector, for the life of the gateway.
    async fn keep(
        self,
        c: Connector,
        client: SourceClient,
        towns: Arc<Towns>,
        mut stop: watch::Receiver<Phase>,
    ) {
        let mut signals = self.notifier.bus.subscribe();
        let mut held = false;
        loop {
            let mut pause = self.check_every();
            let now = Utc::now();
            match state::acquire(
                &self.db,
                &c.name,
                &self.owner,
                now,
                state::lease_end(now, self.lease),
            )
            .await
            {
                Err(err) => {
                    tracing::debug!(connector = %c.name, %err, "connector: lease check failed");
                }
                Ok(None) => {
                    if held {
                        tracing::info!(connector = %c.name, "connector: another replica holds it now");
                    }
                    held = false;
                }
                Ok(Some(s)) => {
                    if !held {
                        tracing::info!(connector = %c.name, owner = %self.owner, "connector: lease taken");
                    }
                    held = true;
                    let due = s.run_requested || s.next_attempt_at.is_none_or(|t| t <= now);
                    if !s.paused && due {
                        if s.run_requested
                            && let Err(err) =
                                state::take_run_request(&self.db, &c.name, &self.owner).await
                        {
                            tracing::debug!(connector = %c.name, %err, "connector: run request not taken");
                            continue;
                        }
                        let checkpoint = Checkpoint::parse(s.checkpoint.as_deref());
                        self.run_once(&c, &client, &towns, s.failures, checkpoint).await;
                        continue;
                    }
                    if let Some(t) = s.next_attempt_at.filter(|_| !s.paused) {
                        let until = (t - now).to_std().unwrap_or_default();
                        pause = pause.min(until);
                    }
                }
            }
            // Operators' requests wake every replica's tasks; other signals do not (a missed
            // one is made up by the next check).
            let wake = |s: &Signal| matches!(s, Signal::Connectors);
            if nap(pause, &mut signals, &mut stop, wake).await {
                break;
            }
        }
        if held && let Err(err) = state::release(&self.db, &c.name, &self.owner).await {
            tracing::warn!(connector = %c.name, %err, "connector: releasing the lease failed");
        }
    }

    /// One run, and its outcome recorded with the next attempt's time.
    async fn run_once(
        &self,
        c: &Connector,
        client: &SourceClient,
        towns: &Towns,
        failures: i32,
        checkpoint: Checkpoint,
    ) {
        let started = std::time::Instant::now();
        let mut pass = Pass {
            db: &self.db,
            notifier: &self.notifier,
            connector: c,
            client,
            towns,
            owner: &self.owner,
            lease: self.lease,
            tally: state::Tally::default(),
            pages: 0,
        };
        let result = pull::run(&mut pass, checkpoint).await;
        let (tally, pages) = (pass.tally, pass.pages);
        let now = Utc::now();
        let (error, failures, wait) = match &result {
            Ok(()) => (None, 0, c.interval),
            Err(RunError::LeaseLost) => {
                tracing::info!(connector = %c.name, "connector: lease lost during a run");
                return;
            }
            Err(err) => {
                let failures = failures.saturating_add(1);
                let retry_after = match err {
                    RunError::Source(FetchError::Status { retry_after, .. }) => *retry_after,
                    _ => None,
                };
                (Some(short(&err.to_string())), failures, backoff(failures, retry_after))
            }
        };
        let took_ms = started.elapsed().as_millis() as u64;
        match &error {
            None => tracing::info!(
                connector = %c.name, pages, created = tally.created, duplicates = tally.duplicates,
                rejected = tally.rejected, took_ms, "connector: pulled"
            ),
            Some(error) => tracing::warn!(
                connector = %c.name, pages, created = tally.created, failures, %error,
                retry_in_ms = wait.as_millis() as u64, "connector: run failed"
            ),
        }
        let end = state::RunEnd {
            error,
            failures,
            next_attempt_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
        };
        if let Err(err) = state::finish_run(&self.db, &c.name, &self.owner, &end, now).await {
            tracing::warn!(connector = %c.name, %err, "connector: recording the run failed");
        }
    }

    /// Deletes counts past the status's day, hourly.
    async fn prune_counts(self, mut stop: watch::Receiver<Phase>) {
        loop {
            let before = Utc::now() - chrono::Duration::days(TALLY_DAYS);
            if let Err(err) = state::prune(&self.db, before).await {
                tracing::debug!(%err, "connector counts: prune failed");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                () = Phase::reached(&mut stop, Phase::Draining) => return,
            }
        }
    }
}

/// Waits `pause`, or less when a signal `wakes` on arrives (or signals were missed); true
/// when the gateway is stopping.
pub(crate) async fn nap(
    pause: Duration,
    signals: &mut tokio::sync::broadcast::Receiver<Signal>,
    stop: &mut watch::Receiver<Phase>,
    wakes: impl Fn(&Signal) -> bool,
) -> bool {
    let until = tokio::time::Instant::now() + pause;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => break,
            () = Phase::reached(stop, Phase::Draining) => break,
            signal = signals.recv() => match signal {
                Ok(s) if !wakes(&s) => {}
                _ => break,
            },
        }
    }
    *stop.borrow() >= Phase::Draining
}

/// The wait after `failures` failed runs in a row: doubling from two seconds up to fifteen
/// minutes, with "equal jitter" (half fixed, half random) so replicas and connectors that
/// failed together do not retry together; never sooner than the source asked.
pub fn backoff(failures: i32, retry_after: Option<Duration>) -> Duration {
    let exp = u32::try_from(failures.saturating_sub(1)).unwrap_or(0).min(20);
    let full = BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_MAX);
    let half = full / 2;
    let jitter = rand_chacha::ChaCha8Rng::seed_from_u64(seed()).random_range(0.0..=1.0);
    let wait = half + half.mul_f64(jitter);
    wait.max(retry_after.unwrap_or_default().min(RETRY_AFTER_MAX))
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

fn short(text: &str) -> String {
    if text.chars().count() <= ERROR_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(ERROR_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        for failures in 1..=12 {
            let full = BACKOFF_BASE.saturating_mul(1 << (failures - 1)).min(BACKOFF_MAX);
            let wait = backoff(failures, None);
            assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?} of {full:?}");
        }
        assert!(backoff(30, None) <= BACKOFF_MAX, "capped");
        assert!(backoff(1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert_eq!(backoff(1, Some(Duration::from_secs(86_400))), RETRY_AFTER_MAX);
        let waits: HashSet<Duration> = (0..20).map(|_| backoff(5, None)).collect();
        assert!(waits.len() > 1, "jittered: {waits:?}");
    }
    use std::collections::HashSet;
}
