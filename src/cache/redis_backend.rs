//! The Redis backend: shared by every replica, so a generation bumped through one is seen by
//! all. The connection manager reconnects by itself after an outage.
use super::{Backend, BackendError};
use bytes::Bytes;
use futures_util::{
    TryFutureExt,
    future::{BoxFuture, FutureExt},
};
use redis::{
    AsyncCommands, Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use std::time::Duration;

/// A Redis server reached through one multiplexed, self-reconnecting connection.
#[derive(Clone)]
pub struct RedisBackend {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisBackend")
    }
}

/// A self-reconnecting connection to `url`, made on first use (the gateway starts while Redis
/// is down); every call gives up after `timeout`.
pub(crate) fn lazy_connection(
    url: &str,
    timeout: Duration,
) -> redis::RedisResult<ConnectionManager> {
    let client = Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client, config)
}

fn fail(e: redis::RedisError) -> BackendError {
    BackendError(e.to_string())
}

impl RedisBackend {
    /// Prepares the connection to `url` without connecting: the gateway starts (and serves
    /// from the database) while Redis is down.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, BackendError> {
        Ok(RedisBackend { conn: lazy_connection(url, timeout).map_err(fail)? })
    }
}

impl Backend for RedisBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        let mut conn = self.conn.clone();
        let value = async move { conn.get::<_, Option<Vec<u8>>>(key).await.map_err(fail) };
        value.map_ok(|v| v.map(Bytes::from)).boxed()
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        let mut conn = self.conn.clone();
        let secs = ttl.as_secs().max(1);
        async move { conn.set_ex::<_, _, ()>(key, value.as_ref(), secs).await.map_err(fail) }
            .boxed()
    }

    fn counter<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
        let mut conn = self.conn.clone();
        async move { conn.get::<_, Option<u64>>(key).await.map(|n| n.unwrap_or(0)).map_err(fail) }
            .boxed()
    }

    fn incr<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, BackendError>> {
        let mut conn = self.conn.clone();
        async move { conn.incr::<_, _, u64>(key, 1).await.map_err(fail) }.boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        let mut conn = self.conn.clone();
        async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await.map(|_| ()).map_err(fail)
        }
        .boxed()
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}
