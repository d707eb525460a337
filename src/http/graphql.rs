//! GraphQL over HTTP. Each request: authenticate (a bad token is a 401, never a downgrade to
//! public), check every operation against the policy and the query limits, execute within the
//! time limit, write the audit trail of the personal data it returned, answer. GET from a
//! browser (Accept: text/html) gets GraphiQL in developer mode.
use crate::{
    Error,
    app::AppState,
    auth::{Principal, jwt::AuthError},
    config::Introspection,
    graphql::{RequestCtx, guard},
    store,
};
use async_graphql::{
    BatchRequest, BatchResponse, ParseRequestError, Request, Response as GqlResponse,
    http::GraphiQLSource, parser::types::DocumentOperations,
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
    match batch {
        BatchRequest::Single(req) => {
            let (resp, status) = run(state, &principal, req, read_only).await;
            (status, GraphQLResponse::from(resp)).into_response()
        }
        BatchRequest::Batch(reqs) => {
            let max = state.limits.max_batch;
            if reqs.is_empty() || reqs.len() > max {
                let msg = format!("a batch holds 1 to {max} operations, this one {}", reqs.len());
                return errors_response(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)]);
            }
            let mut out = Vec::with_capacity(reqs.len());
            let mut status = StatusCode::OK;
            for req in reqs {
                let (resp, s) = run(state, &principal, req, read_only).await;
                status = status.max(s);
                out.push(resp);
            }
            (status, GraphQLResponse::from(BatchResponse::Batch(out))).into_response()
        }
    }
}

/// The operation's name for the audit trail: the chosen one, or the only named one.
fn operation_name(
    req: &Request,
    doc: Option<&async_graphql::parser::types::ExecutableDocument>,
) -> Option<String> {
    req.operation_name.clone().or_else(|| match doc.map(|d| &d.operations) {
        Some(DocumentOperations::Multiple(ops)) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string())
        }
        _ => None,
    })
}

/// Runs one operation for `principal`.
async fn run(
    state: &AppState,
    principal: &Principal,
    mut req: Request,
    read_only: bool,
) -> (GqlResponse, StatusCode) {
    let introspection = match state.introspection {
        Introspection::All => true,
        Introspection::Authenticated => principal.is_authenticated(),
        Introspection::Off => false,
    };
    let doc = state.documents.prepare(&mut req);
    if let Some(doc) = &doc {
        let op = req.operation_name.as_deref();
        if read_only && guard::is_mutation(doc, op) {
            let err = Error::bad_input("mutations must be sent with POST");
            return (
                GqlResponse::from_errors(vec![err.to_server_error()]),
                StatusCode::METHOD_NOT_ALLOWED,
            );
        }
        let caller = guard::Caller { role: principal.role, introspection };
        if let Err(refusal) =
            guard::check(&state.types, doc, op, &req.variables, caller, &state.limits)
        {
            let errors = vec![Error::from(refusal).to_server_error()];
            return (GqlResponse::from_errors(errors), StatusCode::OK);
        }
    }
    if !introspection {
        req = req.disable_introspection();
    }
    let operation = operation_name(&req, doc.as_deref());
    let ctx = RequestCtx::new(principal.clone(), state.max_page_size);
    let req = req.data(ctx.clone());
    let Ok(resp) = tokio::time::timeout(state.request_timeout, state.schema.execute(req)).await
    else {
        let secs = state.request_timeout.as_secs_f32();
        let err = Error::Timeout(format!("the request did not finish within {secs} s"));
        return (
            GqlResponse::from_errors(vec![err.to_server_error()]),
            StatusCode::GATEWAY_TIMEOUT,
        );
    };
    // Personal data leaves only with its audit record written.
    let reads = ctx.take_author_reads();
    if let Err(err) =
        store::audit::record(state.db.write(), principal, operation.as_deref(), &reads, ctx.now)
            .await
    {
        tracing::error!(%err, reads = reads.len(), "audit write failed; answer withheld");
        let err = Error::Internal("the read could not be audited".into());
        return (
            GqlResponse::from_errors(vec![err.to_server_error()]),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    (resp, StatusCode::OK)
}
