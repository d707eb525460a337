//! Budgets every replica shares: one GCRA step per request in a Lua script on Redis, atomic
//! and on Redis's clock.
use super::{Quota, Subject};
use crate::cache::{
    BACKEND_RETRY,
    breaker::{Breaker, Refused},
};
use redis::{Script, aio::ConnectionManager};
use std::time::Duration;

/// Subjects longer than this are keyed by their hash (a `sub` may be long).
const MAX_KEY_SUBJECT: usize = 128;

/// Redis's count of every subject's budget.
#[derive(Clone)]
pub(crate) struct SharedLimiter {
    conn: ConnectionManager,
    script: std::sync::Arc<Script>,
    prefix: String,
    timeout: Duration,
    /// After a failed call Redis is not asked for a moment: requests count locally at once.
    breaker: std::sync::Arc<Breaker>,
}

impl SharedLimiter {
    /// Prepares the connection to `url` without connecting (the gateway starts while Redis is
    /// down, counting locally).
    pub(crate) fn new(url: &str, prefix: &str, timeout: Duration) -> crate::Result<Self> {
        let conn = crate::cache::redis_backend::lazy_connection(url, timeout)
            .map_err(|e| crate::Error::Startup(format!("REDIS_URL: {e}")))?;
        let script = std::sync::Arc::new(Script::new(include_str!("gcra.lua")));
        let breaker = std::sync::Arc::new(Breaker::new(BACKEND_RETRY));
        Ok(SharedLimiter { conn, script, prefix: prefix.to_owned(), timeout, breaker })
    }

    fn key(&self, subject: &Subject) -> String {
        let role = subject.role.as_str();
        if subject.key.len() <= MAX_KEY_SUBJECT {
            return format!("{}rl:{role}:{}", self.prefix, subject.key);
        }
        let hex = crate::cache::sha256_hex(&subject.key);
        format!("{}rl:{role}:h:{hex}", self.prefix)
    }

    /// Takes `cost` from `subject`'s budget of `limit` a minute.
    pub(crate) async fn take(
        &self,
        subject: &Subject,
        limit: u32,
        cost: u32,
    ) -> Result<Quota, redis::RedisError> {
        let interval_ms = 60_000.0 / f64::from(limit.max(1));
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(self.key(subject));
        invocation.arg(interval_ms).arg(limit).arg(cost);
        let call = invocation.invoke_async::<(i64, i64, i64, i64)>(&mut conn);
        let (allowed, retry_ms, remaining, reset_ms) =
            self.breaker.call(self.timeout, call).await.map_err(|refused| match refused {
                Refused::Failed(err) => err,
                other => redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "rate limit call",
                    other.to_string(),
                )),
            })?;
        let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
        Ok(Quota {
            limit,
            remaining: remaining.clamp(0, i64::from(limit)) as u32,
            reset: ms(reset_ms),
            retry_after: (allowed == 0).then(|| ms(retry_ms).max(Duration::from_millis(1))),
            role: subject.role,
        })
    }
}
