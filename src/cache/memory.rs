//! The in-memory backend of the embedded default: one process, so no sharing to do. Values
//! live in a bounded moka cache (least recently used out first, each entry gone after its own
//! TTL); generation counters in a plain map, since evicting one would resurrect stale entries.
use super::{Backend, BackendError};
use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use moka::{Expiry, sync::Cache};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Most values kept; beyond it the least recently used go first.
const CAPACITY: u64 = 10_000;

/// Each value expires after the TTL it was stored with.
struct StoredTtl;

impl Expiry<String, (Duration, Bytes)> for StoredTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &(Duration, Bytes),
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.0)
    }
}

/// Values with their TTLs, and counters.
pub struct MemoryBackend {
    values: Cache<String, (Duration, Bytes)>,
    counters: Mutex<HashMap<String, u64>>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend {
            values: Cache::builder().max_capacity(CAPACITY).expire_after(StoredTtl).build(),
            counters: Mutex::default(),
        }
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend").field("values", &self.values.entry_count()).finish()
    }
}

impl Backend for MemoryBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        // A clone of the value's handle, not of its bytes.
        let value = self.values.get(key).map(|(_, v)| v);
        async move { Ok(value) }.boxed()
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        self.values.insert(key.to_owned(), (ttl, value));
        async { Ok(()) }.boxed()
    }

    fn counter<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
        let n =
            self.counters.lock().unwrap_or_else(|e| e.into_inner()).get(key).copied().unwrap_or(0);
        async move { Ok(n) }.boxed()
    }

    fn incr<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let n = counters.entry(key.to_owned()).or_default();
        *n += 1;
        let n = *n;
        async move { Ok(n) }.boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        async { Ok(()) }.boxed()
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
