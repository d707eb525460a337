//! HTTP routes: `/graphql`, `/graphql/ws`, `/dashboard`, `/healthz`, `/readyz`, `/open311/v2/…`, with request ids,
//! tracing, timeouts and a body limit around them.
pub(crate) mod client;
pub(crate) mod cors;
mod dashboard;
mod graphiql;
pub(crate) mod graphql;
mod health;
pub mod open311;
mod wire;
mod ws;

use crate::state::AppState;
use axum::{
    Router,
    http::{HeaderName, Request, StatusCode},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use std::time::Duration;
use tower_http::{
    LatencyUnit,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The body limit refuses oversized bodies before any handler, in plain text; on `/graphql`
/// that becomes a GraphQL error in the media type the client accepts.
async fn graphql_body_limit(req: axum::extract::Request, next: Next) -> Response {
    // Only the Accept value is kept (cheap to clone); it is read only for a refusal.
    let accept = (req.uri().path() == "/graphql")
        .then(|| req.headers().get(axum::http::header::ACCEPT).cloned());
    let resp = next.run(req).await;
    let Some(accept) = accept else { return resp };
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return graphql::too_large(graphql::Media::of_accept(accept.as_ref()));
    }
    resp
}

/// The gateway's router.
pub fn router(state: AppState, timeout: Duration, max_body: usize) -> Router {
    let cors = state.cors.layer();
    // One span per request, carrying its id; one INFO line when it is answered.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The pipeline fills in who asked and for which operation.
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %id,
                operation = tracing::field::Empty,
                role = tracing::field::Empty,
                sub = tracing::field::Empty,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros));
    let router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/dashboard", get(dashboard::page))
        .route(
            "/dashboard/dev-token",
            axum::routing::post(dashboard::dev_token).options(dashboard::dev_token_available),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/open311/v2/services.json", get(open311::services))
        .route("/open311/v2/services/{file}", get(open311::service_definition))
        .route("/open311/v2/requests.json", get(open311::list_requests).post(open311::post_request))
        .route("/open311/v2/requests/{file}", get(open311::get_request))
        .layer(middleware::from_fn_with_state(state.trusted_proxies.clone(), client::record))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn(graphql_body_limit))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::GATEWAY_TIMEOUT, timeout));
    // Outside the handlers and limits: a preflight is answered here, and every answer —
    // refusals included — carries the headers a browser needs to read it.
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
