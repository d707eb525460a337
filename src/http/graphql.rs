//! GraphQL over HTTP, a thin adapter of the request pipeline: authenticate (a bad token is a
//! 401, never a downgrade to public), read the body or the URL, hand each operation to the
//! pipeline, and say its outcome as an HTTP status. GET from a browser (Accept: text/html) gets
//! GraphiQL in developer mode.
use crate::{
    Error,
    auth::jwt::AuthError,
    pipeline::{Answer, Outcome, Transport},
    state::AppState,
};
use async_graphql::{
    BatchRequest, BatchResponse, ParseRequestError, Response as GqlResponse, http::GraphiQLSource,
};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

/// POST /graphql.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Result<GraphQLBatchRequest, GraphQLRejection>,
) -> Response {
    handle(&state, &headers, req, false).await
}

/// GET /graphql: GraphiQL for browsers in developer mode, otherwise a query in the URL.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Result<GraphQLBatchRequest, GraphQLRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && state.dev {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    // GraphQL over HTTP: GET only reads, so a link can never change anything.
    handle(&state, &headers, req, true).await
}

/// A response holding only errors, with an HTTP status.
fn errors_response(status: StatusCode, errors: &[Error]) -> Response {
    let resp = GqlResponse::from_errors(errors.iter().map(Error::to_server_error).collect());
    (status, Json(resp)).into_response()
}

fn unauthorized(err: AuthError) -> Response {
    tracing::info!(reason = %err, "refused credentials");
    let challenge = match err {
        AuthError::TokenRequired => r#"Bearer realm="cur-gateway""#,
        _ => r#"Bearer realm="cur-gateway", error="invalid_token""#,
    };
    let mut resp = errors_response(StatusCode::UNAUTHORIZED, &[err.into()]);
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    resp
}

fn unreadable(rejection: GraphQLRejection) -> Response {
    let too_large = match &rejection.0 {
        ParseRequestError::PayloadTooLarge => true,
        ParseRequestError::Io(e) => e.to_string().contains("length limit"),
        _ => false,
    };
    if too_large {
        let msg = "the request body is larger than this gateway accepts";
        return errors_response(StatusCode::PAYLOAD_TOO_LARGE, &[Error::bad_input(msg)]);
    }
    let msg = format!("the request is not a GraphQL request: {}", rejection.0);
    errors_response(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)])
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    req: Result<GraphQLBatchRequest, GraphQLRejection>,
    read_only: bool,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    let principal = match state.auth.authenticate(authorization) {
        Ok(p) => p,
        Err(err) => return unauthorized(err),
    };
    let batch = match req {
        Ok(req) => req.into_inner(),
        Err(rejection) => return unreadable(rejection),
    };
    let pipeline = &state.pipeline;
    match batch {
        BatchRequest::Single(req) => {
            let transport = Transport { read_only, use_cache: true };
            match pipeline.answer(&principal, req, transport).await {
                Answer::Fresh(resp, outcome) => {
                    (status_of(outcome), GraphQLResponse::from(*resp)).into_response()
                }
                Answer::Cached(bytes) => cached_response(bytes),
            }
        }
        BatchRequest::Batch(reqs) => {
            let max = pipeline.limits.max_batch;
            if reqs.is_empty() || reqs.len() > max {
                let msg = format!("a batch holds 1 to {max} operations, this one {}", reqs.len());
                return errors_response(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)]);
            }
            let mut out = Vec::with_capacity(reqs.len());
            let mut status = StatusCode::OK;
            let transport = Transport { read_only, use_cache: false };
            for req in reqs {
                if let Answer::Fresh(resp, outcome) =
                    pipeline.answer(&principal, req, transport).await
                {
                    status = status.max(status_of(outcome));
                    out.push(*resp);
                }
            }
            (status, GraphQLResponse::from(BatchResponse::Batch(out))).into_response()
        }
    }
}

/// The HTTP status of an answer's outcome.
fn status_of(outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Executed | Outcome::NotRun => StatusCode::OK,
        Outcome::ReadOnly => StatusCode::METHOD_NOT_ALLOWED,
        Outcome::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        Outcome::Failed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn cached_response(bytes: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_static("application/graphql-response+json");
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}
