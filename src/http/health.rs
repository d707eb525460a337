//! Liveness, readiness and metrics.
use crate::{
    cache::Topic,
    state::{AppState, Phase},
    telemetry::metrics::Snapshot,
};
use axum::{Json, extract::State, http::StatusCode, http::header, response::IntoResponse};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: not shutting down, and the database answers (required); the cache is reported
/// (a Redis outage is `degraded`, not unready: reads fall back to the database), and the
/// replica (`unused` while reads go to the primary).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let replica = match state.db.replica() {
        None => "not_configured",
        Some(r) if r.usable() => "ok",
        Some(_) => "unused",
    };
    if *state.phase.borrow() != Phase::Serving {
        let body = json!({ "replica": replica, "status": "draining" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping());
    let (db_ok, cache_ok) = tokio::join!(ping, state.cache.healthy());
    let db_ok = matches!(db_ok, Ok(Ok(())));
    if !db_ok {
        state.db.health().suspect();
    }
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let redis = match (state.cache.backend_name(), cache_ok) {
        ("redis", true) => "ok",
        ("redis", false) => "degraded",
        _ => "not_configured",
    };
    let body = json!({
        "replica": replica,
        "status": if db_ok { "ok" } else { "unavailable" },
        "db": if db_ok { "ok" } else { "down" },
        "backend": state.db.backend_name(),
        "redis": redis,
        "cache": state.cache.backend_name(),
    });
    (status, Json(body))
}

/// The connectors' shared state for the scrape (none while the database does not answer).
async fn connector_statuses(state: &AppState) -> Vec<crate::service::connectors::Status> {
    if state.connectors.0.is_empty() || state.db.health().is_down() {
        return Vec::new();
    }
    crate::service::connectors::statuses(&state.db, &state.connectors, chrono::Utc::now())
        .await
        .unwrap_or_default()
}

/// Prometheus text: requests, errors, SQL, pools, cache, sockets, subscriptions, budgets,
/// audit records (see `telemetry::metrics`).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (ws_connections, subscriptions) = state.live.counts();
    let cache = Topic::ALL
        .into_iter()
        .map(|t| {
            let c = state.cache.counters(t);
            let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            (t.name(), n(&c.hits), n(&c.misses), n(&c.errors))
        })
        .collect();
    let now = Snapshot {
        pools: state.db.pool_stats(),
        db_up: !state.db.health().is_down(),
        cache,
        ws_connections,
        subscriptions,
        replica: state.db.replica().map(|r| (r.usable(), r.lag().as_secs_f64())),
        connectors: connector_statuses(&state).await,
    };
    let text = state.pipeline.metrics.render(&now);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
