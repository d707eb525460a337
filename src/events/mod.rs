//! The event bus: after a commit, the writing replica tells every replica that the outbox has
//! new events, or that a subject's sessions are revoked. Signals are only wake-ups — what
//! happened is read from the outbox (`store::events`) — so a lost or doubled signal delays
//! nothing for longer than one poll and doubles nothing. Redis pub/sub carries them across
//! replicas when `REDIS_URL` is set; without it they stay in the process.
use crate::{Error, Result};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::broadcast;

/// Signals buffered per local listener before the slowest misses some (a wake-up that is
/// missed is made up by the next poll).
const LOCAL_BUFFER: usize = 1024;

/// A wake-up for every replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// The outbox has events past what was read.
    Events,
    /// An operator paused, resumed or asked to run a connector: its holder looks again.
    Connectors,
    /// Every session of this subject ends.
    Revoked {
        /// The token subject.
        sub: String,
    },
}

/// Carries signals to every replica.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Signal>,
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

impl Bus {
    /// A bus inside this process only.
    pub fn in_process() -> Self {
        Bus { local: broadcast::channel(LOCAL_BUFFER).0, redis: None }
    }

    /// A bus over Redis pub/sub at `url`, on the channel `{prefix}signals`: signals published
    /// here reach every replica subscribed to the same Redis and prefix. The subscription
    /// reconnects by itself after an outage.
    pub fn redis(url: &str, prefix: &str) -> Result<Self> {
        let channel = format!("{prefix}signals");
        let client = redis::Client::open(url)
            .map_err(|e| Error::Startup(format!("REDIS_URL {url:?} is not usable: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let conn = redis::aio::ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| Error::Startup(format!("REDIS_URL {url:?} is not usable: {e}")))?;
        let local = broadcast::channel(LOCAL_BUFFER).0;
        tokio::spawn(relay(client, channel.clone(), local.clone()));
        Ok(Bus { local, redis: Some((conn, channel)) })
    }

    /// Tells every replica (this one at once; the others through Redis when there is one).
    /// A Redis failure is logged: the other replicas' polls pick the events up.
    pub async fn publish(&self, signal: Signal) {
        let _ = self.local.send(signal.clone());
        if let Some((conn, channel)) = &self.redis {
            let mut conn = conn.clone();
            let text = serde_json::to_string(&signal).unwrap_or_default();
            if let Err(err) = conn.publish::<_, _, i64>(channel, text).await {
                tracing::warn!(%err, "event bus: publishing to Redis failed");
            }
        }
    }

    /// Signals from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.local.subscribe()
    }
}

/// Forwards the Redis channel into this process, reconnecting with a growing pause.
async fn relay(client: redis::Client, channel: String, local: broadcast::Sender<Signal>) {
    use futures_util::StreamExt;
    let mut pause = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    // Whatever was published while the subscription was down is in the
                    // outbox: wake the readers once.
                    let _ = local.send(Signal::Events);
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(text) = msg.get_payload::<String>() else { continue };
                        match serde_json::from_str::<Signal>(&text) {
                            Ok(signal) => {
                                let _ = local.send(signal);
                            }
                            Err(err) => tracing::warn!(%err, "event bus: unreadable signal"),
                        }
                    }
                    tracing::warn!("event bus: Redis subscription ended; reconnecting");
                }
                Err(err) => tracing::warn!(%err, "event bus: subscribing failed"),
            },
            Err(err) => tracing::warn!(%err, "event bus: Redis unreachable"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
