//! What every transport shares: the request pipeline, the database, the directory, the cache,
//! the token verifier and the settings the handlers read.
use crate::{
    auth::jwt::Authenticator, cache::Cache, pipeline::Pipeline, service::Notifier, store::Db,
    store::directory::Directory,
};
use std::{collections::HashMap, sync::Arc};

/// The gateway's shared state, cloned into every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// From principal and request to answer.
    pub pipeline: Arc<Pipeline>,
    /// Developer mode (GraphiQL).
    pub dev: bool,
    /// Verifies bearer tokens.
    pub auth: Arc<Authenticator>,
    /// The directory (municipalities, departments, staff) snapshot source.
    pub directory: Arc<Directory>,
    /// The read cache (Redis or in memory).
    pub cache: Cache,
    /// Whom committed writes are announced to (the cache and the event bus).
    pub notifier: Notifier,
    /// Live subscriptions of this replica.
    pub(crate) live: crate::live::Hub,
    /// WebSocket timing (init timeout, keep-alive).
    pub(crate) live_config: crate::config::LiveConfig,
    /// Developer mode: the dashboard mints tokens of any role with this configuration.
    pub(crate) dev_tokens: Option<Arc<crate::config::AuthConfig>>,
    /// Where the process is in its life: serving, draining (readiness off), closing.
    pub(crate) phase: tokio::sync::watch::Sender<Phase>,
    /// Origins whose browser apps may call the API.
    pub(crate) cors: crate::http::cors::Origins,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: crate::http::client::TrustedProxies,
    /// `Cache-Control` of an anonymous GET's answer without errors (CUR_PUBLIC_MAX_AGE_SECS).
    pub(crate) public_cache_control: axum::http::HeaderValue,
    /// Open311 API keys and the integration names they post as.
    pub open311_keys: Arc<HashMap<String, String>>,
    /// The pull connectors of the connectors file.
    pub connectors: Arc<crate::connectors::Connectors>,
}

/// Where a gateway is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Answering.
    Serving,
    /// Told to stop: `/readyz` is red so balancers send no more, requests are still answered.
    Draining,
    /// The listener is closed; in-flight requests finish and WebSockets close with 1001.
    Closing,
}

impl Phase {
    /// Resolves once the gateway has reached `phase` (or gone past it).
    pub(crate) async fn reached(rx: &mut tokio::sync::watch::Receiver<Phase>, phase: Phase) {
        // The guard `wait_for` returns is dropped at once: it must not live across an await.
        let _ = rx.wait_for(|p| *p >= phase).await.is_ok();
    }
}
