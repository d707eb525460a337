//! `/dashboard`: the live KPI page — one self-contained HTML file (no build step, nothing from
//! the internet) that speaks graphql-transport-ws to `/graphql/ws`. In developer mode it can
//! mint a token of any role for itself (`/dashboard/dev-token`).
use crate::{
    auth::{Role, jwt},
    state::AppState,
};
use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use std::time::Duration;

/// The page, with its two trusted documents and their hashes filled in.
static PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let doc = |body: &str| {
        serde_json::json!({ "query": body, "hash": crate::cache::sha256_hex(body) }).to_string()
    };
    include_str!("dashboard.html")
        .replace("__KPI_DOC__", &doc(include_str!("../../schema/operations/DashboardKpis.graphql")))
        .replace(
            "__FEED_DOC__",
            &doc(include_str!("../../schema/operations/DashboardFeed.graphql")),
        )
});
/// Only this origin's scripts, styles and sockets: the page is self-contained.
const POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                      connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/// GET `/dashboard`.
pub(crate) async fn page() -> Response {
    let mut resp =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE.as_str()).into_response();
    resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    resp
}

/// What the page asks a development token for.
#[derive(Debug, Deserialize)]
pub(crate) struct DevTokenRequest {
    role: String,
    department_id: Option<i32>,
    municipality_id: Option<i32>,
}

/// OPTIONS `/dashboard/dev-token`: 204 where the page may mint (developer mode), else 404.
pub(crate) async fn dev_token_available(State(state): State<AppState>) -> StatusCode {
    if state.dev_tokens.is_some() { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }
}

/// POST `/dashboard/dev-token`: a one-hour token of the asked role (developer mode only).
pub(crate) async fn dev_token(
    State(state): State<AppState>,
    Json(req): Json<DevTokenRequest>,
) -> Response {
    let Some(config) = &state.dev_tokens else { return StatusCode::NOT_FOUND.into_response() };
    let Some(role) = Role::ALL.into_iter().find(|r| r.as_str() == req.role) else {
        return (StatusCode::BAD_REQUEST, format!("unknown role {:?}", req.role)).into_response();
    };
    let token = jwt::TokenRequest {
        role,
        department_id: req.department_id,
        municipality_id: req.municipality_id,
        sub: format!("dashboard-{}", role.as_str()),
        ttl: Duration::from_secs(3600),
    };
    match jwt::mint(config, true, &token) {
        Ok(token) => Json(serde_json::json!({ "token": token })).into_response(),
        Err(err) => (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    }
}
