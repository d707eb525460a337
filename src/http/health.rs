//! Liveness and readiness.
use crate::app::AppState;
use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers. The cache is reported once it exists (issue 5).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let db_ok = state.db.ping().await.is_ok();
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if db_ok { "ok" } else { "unavailable" },
        "db": if db_ok { "ok" } else { "down" },
        "backend": state.db.backend_name(),
        "redis": "not_configured",
    });
    (status, Json(body))
}
