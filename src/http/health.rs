//! Liveness, readiness and metrics.
use crate::state::AppState;
use axum::{Json, extract::State, http::StatusCode, http::header, response::IntoResponse};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers (required); the cache is reported — a Redis outage is
/// `degraded`, not unready, since reads fall back to the database.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
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
        "status": if db_ok { "ok" } else { "unavailable" },
        "db": if db_ok { "ok" } else { "down" },
        "backend": state.db.backend_name(),
        "redis": redis,
        "cache": state.cache.backend_name(),
    });
    (status, Json(body))
}

/// Prometheus text: cache hits, misses and failures, SQL statements run.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let c = state.cache.counters();
    let mut out = String::new();
    for (name, help, value) in [
        ("cur_cache_hits_total", "Reads answered from the cache.", c.hits.load(Ordering::Relaxed)),
        ("cur_cache_misses_total", "Reads computed and stored.", c.misses.load(Ordering::Relaxed)),
        (
            "cur_cache_errors_total",
            "Cache failures answered from the database.",
            c.errors.load(Ordering::Relaxed),
        ),
        ("cur_db_statements_total", "SQL statements run.", state.db.statements_executed()),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
