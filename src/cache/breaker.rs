//! A breaker in front of Redis: after a call fails, calls fail at once for a moment instead of
//! each waiting out its own timeout (a Redis that does not answer cost every request the
//! limiter's, the cache's generation and the cache's read timeouts in turn); the first call
//! after the moment tries Redis again. Thirty lines of atomics: the breaker crates bring
//! policies and types this one state does not need.
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// Open for a period after a failure; closed by a success.
#[derive(Debug)]
pub(crate) struct Breaker {
    base: Instant,
    period: Duration,
    /// Milliseconds since `base` until which calls are refused (0: closed).
    open_until: AtomicU64,
}

impl Breaker {
    /// A closed breaker that opens for `period` after each failure.
    pub(crate) fn new(period: Duration) -> Self {
        Breaker { base: Instant::now(), period, open_until: AtomicU64::new(0) }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go to the backend now.
    pub(crate) fn allows(&self) -> bool {
        self.open_until.load(Ordering::Relaxed) <= self.now_ms()
    }

    /// A call failed: the next ones fail at once for the period.
    pub(crate) fn failed(&self) {
        let until = self.now_ms() + u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX);
        self.open_until.store(until.max(1), Ordering::Relaxed);
    }

    /// A call succeeded.
    pub(crate) fn succeeded(&self) {
        self.open_until.store(0, Ordering::Relaxed);
    }

    /// Runs `call` within `timeout` unless the breaker is open; a failure or a timeout opens it.
    pub(crate) async fn call<T, E>(
        &self,
        timeout: Duration,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Refused<E>> {
        if !self.allows() {
            return Err(Refused::Open);
        }
        let result = match tokio::time::timeout(timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(Refused::Failed(err)),
            Err(_) => Err(Refused::TimedOut(timeout)),
        };
        match &result {
            Ok(_) => self.succeeded(),
            Err(_) => self.failed(),
        }
        result
    }
}

/// Why a call through the breaker did not answer.
#[derive(Debug)]
pub(crate) enum Refused<E> {
    /// A call failed within the period: this one was not sent.
    Open,
    /// The backend answered with an error.
    Failed(E),
    /// No answer within the time limit.
    TimedOut(Duration),
}

impl<E: std::fmt::Display> std::fmt::Display for Refused<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Open => f.write_str("failed a moment ago; not asked again yet"),
            Refused::Failed(err) => err.fmt(f),
            Refused::TimedOut(limit) => write!(f, "no answer within {limit:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_refuses_calls_for_the_period_then_one_probes_and_a_success_closes() {
        let breaker = Breaker::new(Duration::from_millis(50));
        let ok = || async { Ok::<_, String>(1) };
        assert_eq!(breaker.call(Duration::from_secs(1), ok()).await.ok(), Some(1));
        let slow = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, String>(2)
        };
        let timed_out = breaker.call(Duration::from_millis(5), slow).await;
        assert!(matches!(timed_out, Err(Refused::TimedOut(_))));
        let mut sent = false;
        let skipped = breaker
            .call(Duration::from_secs(1), async {
                sent = true;
                Ok::<_, String>(3)
            })
            .await;
        assert!(matches!(skipped, Err(Refused::Open)) && !sent, "not sent while open");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(breaker.call(Duration::from_secs(1), ok()).await.ok(), Some(1), "a probe");
        assert!(breaker.allows(), "closed by the success");
        let failed = breaker.call(Duration::from_secs(1), async { Err::<u8, _>("no".to_owned()) });
        assert!(matches!(failed.await, Err(Refused::Failed(_))));
        assert!(!breaker.allows());
    }
}
