//! The in-memory backend of the embedded default: one process, so no sharing to do.
use super::{Backend, BackendError};
use futures_util::future::{BoxFuture, FutureExt};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Entries beyond this are dropped, oldest expiry first.
const CAPACITY: usize = 10_000;

/// Values with expiry times, and counters.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    values: Mutex<HashMap<String, (Instant, Vec<u8>)>>,
    counters: Mutex<HashMap<String, u64>>,
}

impl Backend for MemoryBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let value = match values.get(key) {
            Some((expires, v)) if *expires > Instant::now() => Some(v.clone()),
            Some(_) => {
                values.remove(key);
                None
            }
            None => None,
        };
        async move { Ok(value) }.boxed()
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        if values.len() >= CAPACITY {
            let now = Instant::now();
            values.retain(|_, (expires, _)| *expires > now);
            if values.len() >= CAPACITY {
                values.clear();
            }
        }
        values.insert(key.to_owned(), (Instant::now() + ttl, value));
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
