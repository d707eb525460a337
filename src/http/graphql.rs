//! GraphQL over HTTP (the graphql-over-http draft), a thin adapter of the request pipeline:
//! authenticate (a bad token is a 401, never a downgrade to public), accept only JSON bodies
//! (415 otherwise), read the body or the URL, hand each operation to the pipeline, and say its
//! outcome in the media type the client accepts — `application/graphql-response+json` (request
//! errors are 4xx there) or `application/json` (the legacy type: request errors are 200). GET
//! from a browser (Accept: text/html) gets GraphiQL in developer mode.
use super::client::ClientAddr;
use super::wire::{self, WireGet};
use crate::{
    Error,
    auth::jwt::AuthError,
    pipeline::{Answer, Outcome, Reply, Transport},
    ratelimit::{Quota, whole_seconds},
    state::AppState,
};
use async_graphql::{BatchRequest, Response as GqlResponse, ServerError};
use axum::{
    Extension,
    body::Bytes,
    extract::{
        Query, State,
        rejection::{BytesRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// The response media types of GraphQL over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/graphql-response+json`.
    GraphqlResponse,
    /// `application/json`.
    Json,
}

impl Media {
    /// The type the client's `Accept` prefers (by q-value, then order); `application/json`
    /// when it names neither, as legacy clients expect.
    pub(crate) fn accepted(headers: &HeaderMap) -> Media {
        Media::of_accept(headers.get(header::ACCEPT))
    }

    /// The type an `Accept` value prefers (see [`Media::accepted`]).
    pub(crate) fn of_accept(accept: Option<&HeaderValue>) -> Media {
        let accept = accept.and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut best: Option<(f32, Media)> = None;
        for part in accept.split(',') {
            let mut params = part.split(';');
            let media = match params.next().unwrap_or("").trim() {
                "application/graphql-response+json" => Media::GraphqlResponse,
                "application/json" => Media::Json,
                _ => continue,
            };
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, media));
            }
        }
        best.map_or(Media::Json, |(_, m)| m)
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }

    /// The HTTP status of an answer's outcome: request errors (nothing ran) are 400 in the
    /// GraphQL response type, 200 in legacy JSON.
    fn status(self, outcome: Outcome) -> StatusCode {
        match (outcome, self) {
            (Outcome::Executed, _) | (Outcome::NotRun, Media::Json) => StatusCode::OK,
            (Outcome::NotRun, Media::GraphqlResponse) => StatusCode::BAD_REQUEST,
            (Outcome::ReadOnly, _) => StatusCode::METHOD_NOT_ALLOWED,
            (Outcome::TimedOut, _) => StatusCode::GATEWAY_TIMEOUT,
            (Outcome::Failed, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (Outcome::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (Outcome::RateLimited, _) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// A JSON body in this media type.
    fn respond(self, status: StatusCode, body: impl Into<Bytes>) -> Response {
        let body: Bytes = body.into();
        (status, [(header::CONTENT_TYPE, self.content_type())], body).into_response()
    }

    /// A body of errors only (a request error: no `data` entry).
    pub(crate) fn errors(self, status: StatusCode, errors: &[Error]) -> Response {
        let errors: Vec<_> = errors.iter().map(Error::to_server_error).collect();
        self.respond(status, json!({ "errors": errors }).to_string().into_bytes())
    }
}

/// POST /graphql: a JSON body (`application/json`) of one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = Media::accepted(&headers);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let json = content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        let msg = format!(
            "send the request as application/json, not {}",
            content_type.unwrap_or("a body without a Content-Type")
        );
        return media.errors(StatusCode::UNSUPPORTED_MEDIA_TYPE, &[Error::bad_input(msg)]);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return too_large(media);
        }
        Err(rejection) => return unreadable(media, &rejection.body_text()),
    };
    let req = wire::from_body(&body).map_err(|e| e.to_string());
    let answer = handle(&state, client, &headers, media, req, false).await;
    with_caching(&state, &headers, false, answer)
}

/// GET /graphql: GraphiQL for browsers in developer mode, otherwise a query in the URL.
pub async fn get(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    params: Result<Query<WireGet>, QueryRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && state.dev {
        return super::graphiql::page();
    }
    // GraphQL over HTTP: GET only reads, so a link can never change anything.
    let req = match params {
        Ok(Query(params)) => wire::from_url(params).map_err(|e| e.to_string()),
        Err(rejection) => Err(rejection.body_text()),
    };
    let answer = handle(&state, client, &headers, Media::accepted(&headers), req, true).await;
    with_caching(&state, &headers, true, answer)
}

fn unauthorized(media: Media, err: AuthError) -> Response {
    tracing::info!(reason = %err, "refused credentials");
    let challenge = match err {
        AuthError::TokenRequired => r#"Bearer realm="cur-gateway""#,
        _ => r#"Bearer realm="cur-gateway", error="invalid_token""#,
    };
    let mut resp = media.errors(StatusCode::UNAUTHORIZED, &[err.into()]);
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    resp
}

/// The body limit's refusal as a GraphQL error.
pub(crate) fn too_large(media: Media) -> Response {
    let msg = "the request body is larger than this gateway accepts";
    media.errors(StatusCode::PAYLOAD_TOO_LARGE, &[Error::bad_input(msg)])
}

fn unreadable(media: Media, why: &str) -> Response {
    let msg = format!("the request is not a GraphQL request: {why}");
    media.errors(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)])
}

/// One operation's answer as JSON, written straight from the response: a request error has
/// no `data` entry.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Body<'a> {
    /// The whole response.
    Executed(&'a GqlResponse),
    /// Its errors only.
    NotRun { errors: &'a [ServerError] },
}

impl<'a> Body<'a> {
    fn of(resp: &'a GqlResponse, outcome: Outcome) -> Self {
        match outcome {
            Outcome::Executed => Body::Executed(resp),
            _ => Body::NotRun { errors: &resp.errors },
        }
    }
}

/// JSON of a body; a response built from JSON values always serializes, but should one not,
/// the client still gets a GraphQL error.
fn written<T: serde::Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|_| {
        let err = Error::Internal("the answer could not be written".into());
        json!({ "errors": [err.to_server_error()] }).to_string().into_bytes()
    })
}

/// The budget's headers (the IETF RateLimit fields draft) on a response: the policy, what is
/// left and when it is whole again, and `Retry-After` on a refusal or an outage.
fn with_quota(mut resp: Response, quota: Option<Quota>) -> Response {
    let headers = resp.headers_mut();
    if let Some(q) = quota {
        let role = q.role.as_str();
        let policy = format!("\"{role}\";q={};w=60", q.limit);
        let state = format!("\"{role}\";r={};t={}", q.remaining, whole_seconds(q.reset));
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        if let Some(wait) = q.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(whole_seconds(wait).max(1)));
        }
    }
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

/// A batch's budget: what is left after its last operation, and the longest wait any of its
/// refused operations was given.
fn tighter(earlier: Option<Quota>, later: Option<Quota>) -> Option<Quota> {
    match (earlier, later) {
        (Some(a), Some(mut b)) => {
            b.retry_after = a.retry_after.max(b.retry_after);
            Some(b)
        }
        (a, b) => b.or(a),
    }
}

/// `Cache-Control` of an answer shared caches may keep for `secs` seconds (0: never).
pub(crate) fn public_cache_control(secs: u32) -> HeaderValue {
    match secs {
        0 => HeaderValue::from_static("no-store"),
        s => HeaderValue::from_str(&format!("public, max-age={s}")).unwrap_or(NO_STORE),
    }
}

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Says who may keep an answer: a shared cache only an anonymous GET's answer without errors
/// (the public's scope is every anonymous caller's, and GET only reads); nobody anything else
/// (a token's rows, an error that may pass). The caller's remaining budget is left off a shared
/// answer, as it is nobody else's.
fn with_caching(
    state: &AppState,
    headers: &HeaderMap,
    read_only: bool,
    (mut resp, shareable): (Response, bool),
) -> Response {
    let shared = shareable && read_only && !headers.contains_key(header::AUTHORIZATION);
    let out = resp.headers_mut();
    if shared {
        out.insert(header::CACHE_CONTROL, state.public_cache_control.clone());
        out.remove("ratelimit");
    } else {
        out.insert(header::CACHE_CONTROL, NO_STORE);
    }
    if read_only {
        out.insert(header::VARY, HeaderValue::from_static("accept, authorization"));
    }
    resp
}

/// The response and whether it is the same for every caller who sends this request.
async fn handle(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
    media: Media,
    req: Result<BatchRequest, String>,
    read_only: bool,
) -> (Response, bool) {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    // Boxed, as the answers below: the futures of a token check (which may fetch keys) and of
    // an operation are large, and the handler's future is moved several times on its way to
    // the connection — each move a copy of all of it (callgrind: a third of a cached page).
    let principal = match Box::pin(state.auth.authenticate(authorization)).await {
        Ok(p) => p,
        Err(err) => return (unauthorized(media, err), false),
    };
    let batch = match req {
        Ok(batch) => batch,
        Err(why) => return (unreadable(media, &why), false),
    };
    let pipeline = &state.pipeline;
    match batch {
        BatchRequest::Single(req) => {
            let transport = Transport { read_only, use_cache: true };
            let Reply { answer, quota } =
                Box::pin(pipeline.answer(&principal, client.0, req, transport)).await;
            let (resp, clean) = match answer {
                Answer::Fresh(resp, outcome) => {
                    let clean = outcome == Outcome::Executed && resp.errors.is_empty();
                    let body = written(&Body::of(&resp, outcome));
                    (media.respond(media.status(outcome), body), clean)
                }
                Answer::Cached(bytes) => (media.respond(StatusCode::OK, bytes), true),
            };
            (with_quota(resp, quota), clean)
        }
        BatchRequest::Batch(reqs) => {
            let max = pipeline.limits.max_batch;
            if reqs.is_empty() || reqs.len() > max {
                let msg = format!("a batch holds 1 to {max} operations, this one {}", reqs.len());
                return (media.errors(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)]), false);
            }
            let mut answers = Vec::with_capacity(reqs.len());
            let mut status = StatusCode::OK;
            let transport = Transport { read_only, use_cache: false };
            let mut quota = None;
            for req in reqs {
                let reply = Box::pin(pipeline.answer(&principal, client.0, req, transport)).await;
                quota = tighter(quota, reply.quota);
                if let Answer::Fresh(resp, outcome) = reply.answer {
                    status = status.max(media.status(outcome));
                    answers.push((resp, outcome));
                }
            }
            let bodies: Vec<Body<'_>> = answers.iter().map(|(r, o)| Body::of(r, *o)).collect();
            (with_quota(media.respond(status, written(&bodies)), quota), false)
        }
    }
}
