//! The read cache: one [`Backend`] trait with a Redis and an in-memory implementation, and
//! [`Cache`], which adds what both need — generation-stamped keys (a write bumps the
//! generation of what it touched, so every replica's next read misses), single-flight for
//! cold keys, hit/miss counters, and a database fallback whenever the backend fails: a cache
//! outage slows reads down, it never breaks them.
pub(crate) mod breaker;
mod memory;
pub(crate) mod redis_backend;

pub use memory::MemoryBackend;
pub use redis_backend::RedisBackend;

use breaker::Breaker;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::sync::OnceCell;

/// The SHA-256 of `text` in lowercase hex: cache keys, persisted-document ids, long rate-limit
/// subjects. Here, below the pipeline and the limiter that both use it.
pub fn sha256_hex(text: impl AsRef<[u8]>) -> String {
    use std::fmt::Write;
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(text.as_ref()) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// How long a backend that failed is not asked again.
pub(crate) const BACKEND_RETRY: Duration = Duration::from_secs(1);

/// A cache backend failed (unreachable, slow, refused).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cache backend: {0}")]
pub struct BackendError(pub String);

/// What a cache backend stores: bytes under keys with a TTL, and counters.
pub trait Backend: Send + Sync {
    /// The value under `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>>;
    /// Stores `value` under `key` for `ttl`.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BackendError>>;
    /// The counter under `key` (0 when absent).
    fn counter<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>>;
    /// Increments the counter under `key`.
    fn incr<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>>;
    /// Whether the backend answers.
    fn ping(&self) -> BoxFuture<'_, Result<(), BackendError>>;
    /// `memory` or `redis`.
    fn name(&self) -> &'static str;
}

/// What a write touched; its generation is bumped after the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Complaints and everything computed from them (KPIs).
    Complaints,
    /// Routing rules (what ingestion decides with).
    Routing,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 2] = [Topic::Complaints, Topic::Routing];

    /// The topic's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Complaints => "complaints",
            Topic::Routing => "routing",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn key(self) -> &'static str {
        match self {
            Topic::Complaints => "gen:complaints",
            Topic::Routing => "gen:routing",
        }
    }
}

/// Hit, miss and failure counts of one topic.
#[derive(Debug, Default)]
pub struct Counters {
    /// Answers from the cache.
    pub hits: AtomicU64,
    /// Values computed (and stored); readers that waited on another's computation count
    /// neither as hits nor as misses.
    pub misses: AtomicU64,
    /// Backend failures (each answered from the database).
    pub errors: AtomicU64,
}

/// One computation of a cold key that this process's readers share. Kept by hand rather than
/// moka's `get_with`: the flight has to span the backend (Redis) read, the computation and the
/// backend write, fall back to computing alone when the backend fails, and let a reader whose
/// computation must not be stored keep its answer — moka's single flight is tied to storing in
/// its own cache.
type Flight = Arc<OnceCell<Bytes>>;

/// The gateway's cache.
#[derive(Clone)]
pub struct Cache {
    backend: Arc<dyn Backend>,
    prefix: Arc<str>,
    ttl: Duration,
    op_timeout: Duration,
    /// After a failed call, the backend is not asked for a moment (requests do not each wait
    /// out the timeout while Redis is down).
    breaker: Arc<Breaker>,
    counters: Arc<[Counters; 2]>,
    flights: Arc<Mutex<HashMap<String, Flight>>>,
    /// Topics whose bump failed: until it lands, this replica bypasses the cache (its entries
    /// may predate a write) and retries the bump on every read.
    pending: Arc<Mutex<Vec<Topic>>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.backend.name())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Cache {
    /// A cache over `backend`; keys start with `prefix`; values live at most `ttl` (a
    /// backstop: generations make them stale first); each backend call gets `op_timeout`.
    pub fn new(
        backend: Arc<dyn Backend>,
        prefix: &str,
        ttl: Duration,
        op_timeout: Duration,
    ) -> Self {
        Cache {
            backend,
            prefix: prefix.into(),
            ttl,
            op_timeout,
            breaker: Arc::new(Breaker::new(BACKEND_RETRY)),
            counters: Arc::default(),
            flights: Arc::default(),
            pending: Arc::default(),
        }
    }

    /// `memory` or `redis`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Hit, miss and failure counts.
    pub fn counters(&self, topic: Topic) -> &Counters {
        &self.counters[topic.index()]
    }

    async fn timed<T>(
        &self,
        op: BoxFuture<'_, Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        self.breaker.call(self.op_timeout, op).await.map_err(|e| BackendError(e.to_string()))
    }

    fn failed(&self, topic: Topic, err: &BackendError) {
        self.counters(topic).errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%err, "cache unavailable; answering from the database");
    }

    /// The value stored under `name`/`key` with [`Cache::store`] (no generations: such values
    /// never go stale, they only expire); None when absent or the backend is down.
    pub async fn stored(&self, name: &str, key: &str) -> Option<Bytes> {
        let key = format!("{}{name}:{key}", self.prefix);
        match self.timed(self.backend.get(&key)).await {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(%err, name, "cache unavailable");
                None
            }
        }
    }

    /// Stores `value` under `name`/`key` for `ttl` (every replica reads it on Redis); false
    /// when the backend is down.
    pub async fn store(&self, name: &str, key: &str, value: Bytes, ttl: Duration) -> bool {
        let key = format!("{}{name}:{key}", self.prefix);
        match self.timed(self.backend.set(&key, value, ttl)).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, name, "cache unavailable");
                false
            }
        }
    }

    /// Whether the backend answers now.
    pub async fn healthy(&self) -> bool {
        // Asked even while the breaker is open: a good answer closes it.
        let up =
            matches!(tokio::time::timeout(self.op_timeout, self.backend.ping()).await, Ok(Ok(())));
        if up {
            self.breaker.succeeded();
        }
        up
    }

    /// The current generation of `topic` (shared by every replica on Redis); None when the
    /// backend cannot tell, so the caller reads the database.
    pub async fn generation(&self, topic: Topic) -> Option<u64> {
        if !self.settle_pending().await {
            return None;
        }
        let key = format!("{}{}", self.prefix, topic.key());
        match self.timed(self.backend.counter(&key)).await {
            Ok(g) => Some(g),
            Err(err) => {
                self.failed(topic, &err);
                None
            }
        }
    }

    /// Marks `topic` changed on every replica (after a committed write). A bump that fails is
    /// retried before this replica uses the cache again.
    pub async fn bump(&self, topic: Topic) {
        if !self.incr(topic).await {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !pending.contains(&topic) {
                pending.push(topic);
            }
        }
    }

    async fn incr(&self, topic: Topic) -> bool {
        let key = format!("{}{}", self.prefix, topic.key());
        match self.timed(self.backend.incr(&key)).await {
            Ok(_) => true,
            Err(err) => {
                self.failed(topic, &err);
                false
            }
        }
    }

    /// Lands the bumps that failed; false while one still fails.
    async fn settle_pending(&self) -> bool {
        let topics = self.pending.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for topic in topics {
            if !self.incr(topic).await {
                return false;
            }
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).retain(|t| *t != topic);
        }
        true
    }

    /// The key of `name`/`parts` at `topic`'s current generation (None: backend down).
    async fn key_of(&self, topic: Topic, name: &str, parts: &str) -> Option<String> {
        let generation = self.generation(topic).await?;
        // The first 16 bytes of the digest are key enough.
        let digest = &sha256_hex(parts)[..32];
        Some(format!("{}{name}:g{generation}:{digest}", self.prefix))
    }

    /// The cached value of `name`/`parts` for the current generation of `topic`, or
    /// `compute`'s, stored for the next reader. Concurrent readers of a cold key in this
    /// process share one computation. Any backend failure falls back to `compute`.
    pub async fn get_or_compute<T, F>(
        &self,
        topic: Topic,
        name: &str,
        parts: &str,
        compute: F,
    ) -> crate::Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = crate::Result<T>>,
    {
        let bytes = self
            .get_or_compute_bytes(topic, name, parts, async {
                serde_json::to_vec(&compute.await?)
                    .map(Bytes::from)
                    .map_err(|e| crate::Error::Internal(format!("cache value: {e}")))
            })
            .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| crate::Error::Internal(format!("cache value: {e}")))
    }

    /// As `get_or_compute`, for values that are bytes already (whole responses). An `Err`
    /// from `compute` — a failure, or an answer that must not be kept — goes back to this
    /// reader and is not stored.
    pub async fn get_or_compute_bytes<F, E>(
        &self,
        topic: Topic,
        name: &str,
        parts: &str,
        compute: F,
    ) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Bytes, E>>,
    {
        let Some(key) = self.key_of(topic, name, parts).await else { return compute.await };
        match self.timed(self.backend.get(&key)).await {
            Ok(Some(bytes)) => {
                self.counters(topic).hits.fetch_add(1, Ordering::Relaxed);
                return Ok(bytes);
            }
            Ok(None) => {}
            Err(err) => {
                self.failed(topic, &err);
                return compute.await;
            }
        }
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
            flights.entry(key.clone()).or_default().clone()
        };
        let computed = flight
            .get_or_try_init(|| async {
                // A reader that missed just before another flight stored the value finds it
                // here instead of computing it again.
                if let Ok(Some(bytes)) = self.timed(self.backend.get(&key)).await {
                    return Ok(bytes);
                }
                // Counted here: a miss is a computation, however many readers waited on it.
                self.counters(topic).misses.fetch_add(1, Ordering::Relaxed);
                let bytes = compute.await?;
                if let Err(err) = self.timed(self.backend.set(&key, bytes.clone(), self.ttl)).await
                {
                    self.failed(topic, &err);
                }
                Ok::<_, E>(bytes)
            })
            .await;
        self.flights.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        computed.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// The memory backend behind a switch: off, every call fails.
    #[derive(Default)]
    struct Flaky {
        inner: memory::MemoryBackend,
        down: AtomicBool,
    }

    impl Flaky {
        /// `op` while up; while down a failure, and `op` (the memory backend acts as it is
        /// called) is not even started.
        fn through<'a, T: Send + 'a>(
            &self,
            op: impl FnOnce() -> BoxFuture<'a, Result<T, BackendError>>,
        ) -> BoxFuture<'a, Result<T, BackendError>> {
            if self.down.load(Ordering::Relaxed) {
                return Box::pin(async { Err(BackendError("down".into())) });
            }
            op()
        }
    }

    impl Backend for Flaky {
        fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
            self.through(|| self.inner.get(key))
        }
        fn set<'a>(
            &'a self,
            key: &'a str,
            value: Bytes,
            ttl: Duration,
        ) -> BoxFuture<'a, Result<(), BackendError>> {
            self.through(|| self.inner.set(key, value, ttl))
        }
        fn counter<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
            self.through(|| self.inner.counter(key))
        }
        fn incr<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
            self.through(|| self.inner.incr(key))
        }
        fn ping(&self) -> BoxFuture<'_, Result<(), BackendError>> {
            self.through(|| self.inner.ping())
        }
        fn name(&self) -> &'static str {
            "flaky"
        }
    }

    #[tokio::test]
    async fn a_write_during_an_outage_is_not_hidden_by_entries_from_before_it() {
        let backend = Arc::new(Flaky::default());
        let cache =
            Cache::new(backend.clone(), "t:", Duration::from_secs(60), Duration::from_millis(50));
        let read = |v: u32| cache.get_or_compute(Topic::Complaints, "k", "p", async move { Ok(v) });
        assert_eq!(read(1).await.ok(), Some(1), "computed and stored");
        assert_eq!(read(2).await.ok(), Some(1), "a hit");
        // The write's bump fails: the old entry stays reachable in the backend...
        backend.down.store(true, Ordering::Relaxed);
        cache.bump(Topic::Complaints).await;
        assert_eq!(read(3).await.ok(), Some(3), "down: computed");
        // ...but when the backend answers again, the bump lands before any read: first the
        // breaker keeps reads on the source for a moment, then the cache is used again.
        backend.down.store(false, Ordering::Relaxed);
        assert_eq!(read(4).await.ok(), Some(4), "fresh after the outage, not the old 1");
        tokio::time::sleep(BACKEND_RETRY + Duration::from_millis(50)).await;
        assert_eq!(read(5).await.ok(), Some(5), "the bump landed: computed and stored");
        assert_eq!(read(6).await.ok(), Some(5), "and cached again");
    }
}
