//! GraphQL over HTTP. Each request: authenticate (a bad token is a 401, never a downgrade to
//! public), check every operation against the policy and the query limits, execute within the
//! time limit, write the audit trail of the personal data it returned, answer. GET from a
//! browser (Accept: text/html) gets GraphiQL in developer mode.
use crate::{
    Error,
    app::AppState,
    auth::{Principal, jwt::AuthError},
    cache::Topic,
    config::Introspection,
    graphql::{RequestCtx, cacheable::cacheable, guard, response_order::order_response},
    store::{self, scope::Scoped},
};
use async_graphql::parser::types::ExecutableDocument;
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
use std::sync::Arc;

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
        BatchRequest::Single(req) => match run(state, &principal, req, read_only, true).await {
            Answer::Ran(resp, status) => (status, GraphQLResponse::from(*resp)).into_response(),
            Answer::Cached(bytes) => cached_response(bytes),
        },
        BatchRequest::Batch(reqs) => {
            let max = state.limits.max_batch;
            if reqs.is_empty() || reqs.len() > max {
                let msg = format!("a batch holds 1 to {max} operations, this one {}", reqs.len());
                return errors_response(StatusCode::BAD_REQUEST, &[Error::bad_input(msg)]);
            }
            let mut out = Vec::with_capacity(reqs.len());
            let mut status = StatusCode::OK;
            for req in reqs {
                // Batches are not answered from the operation cache (one body for many).
                if let Answer::Ran(resp, s) = run(state, &principal, req, read_only, false).await {
                    status = status.max(s);
                    out.push(*resp);
                }
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

/// How an operation was answered.
enum Answer {
    /// Executed now.
    Ran(Box<GqlResponse>, StatusCode),
    /// The serialized response (of this execution, or of an earlier identical operation in
    /// the same scope).
    Cached(Vec<u8>),
}

fn cached_response(bytes: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_static("application/graphql-response+json");
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// What makes two operations the same answer: the caller's role and row scope (never the
/// caller alone), the text, the chosen operation and the variables.
fn operation_key(principal: &Principal, req: &Request) -> String {
    let variables = serde_json::to_string(&req.variables).unwrap_or_default();
    format!(
        "{:?}|{:?}|{:?}|{}|{variables}",
        principal.role,
        Scoped::of(principal).row_scope(),
        req.operation_name,
        req.query
    )
}

/// Runs one operation for `principal`, from the operation cache when `use_cache` allows.
async fn run(
    state: &AppState,
    principal: &Principal,
    req: Request,
    read_only: bool,
    use_cache: bool,
) -> Answer {
    let (req, doc) = match checked(state, principal, req, read_only) {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let cacheable = use_cache
        && state.cache_operations
        && doc.as_deref().is_some_and(|d| cacheable(d, req.operation_name.as_deref()));
    if !cacheable {
        let (resp, status) = execute(state, principal, req, doc.as_deref()).await;
        return Answer::Ran(Box::new(resp), status);
    }
    let key = operation_key(principal, &req);
    // Answers with errors are returned but never stored: they go out through `uncached`.
    let mut uncached = None;
    let compute = async {
        let (resp, status) = execute(state, principal, req, doc.as_deref()).await;
        if status == StatusCode::OK && resp.errors.is_empty() {
            return serde_json::to_vec(&resp).map_err(|e| Error::Internal(e.to_string()));
        }
        uncached = Some((resp, status));
        Err(Error::Internal("not stored".into()))
    };
    let answer = state.cache.get_or_compute_bytes(Topic::Complaints, "op", &key, compute).await;
    match (answer, uncached) {
        (_, Some((resp, status))) => Answer::Ran(Box::new(resp), status),
        (Ok(bytes), None) => Answer::Cached(bytes),
        (Err(err), None) => Answer::Ran(
            Box::new(GqlResponse::from_errors(vec![err.to_server_error()])),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

/// Parses and checks one operation: the request with its document, or the refusal.
fn checked(
    state: &AppState,
    principal: &Principal,
    mut req: Request,
    read_only: bool,
) -> Result<(Request, Option<Arc<ExecutableDocument>>), Answer> {
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
            return Err(Answer::Ran(
                Box::new(GqlResponse::from_errors(vec![err.to_server_error()])),
                StatusCode::METHOD_NOT_ALLOWED,
            ));
        }
        let caller = guard::Caller { role: principal.role, introspection };
        if let Err(refusal) =
            guard::check(&state.types, doc, op, &req.variables, caller, &state.limits)
        {
            let errors = vec![Error::from(refusal).to_server_error()];
            return Err(Answer::Ran(Box::new(GqlResponse::from_errors(errors)), StatusCode::OK));
        }
    }
    if !introspection {
        req = req.disable_introspection();
    }
    Ok((req, doc))
}

/// Gives the errors async-graphql reports before executing (they carry no code) the
/// contract's codes: a document that did not parse is GRAPHQL_PARSE_FAILED, one that failed
/// validation (errors without a path) GRAPHQL_VALIDATION_FAILED.
fn code_request_errors(resp: &mut GqlResponse, parsed: bool) {
    for err in &mut resp.errors {
        let extensions = err.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() || !err.path.is_empty() {
            continue;
        }
        let code = if parsed { "GRAPHQL_VALIDATION_FAILED" } else { "GRAPHQL_PARSE_FAILED" };
        extensions.set("code", code);
    }
}

/// Executes a checked operation within the time limit and writes its audit trail.
async fn execute(
    state: &AppState,
    principal: &Principal,
    req: Request,
    doc: Option<&ExecutableDocument>,
) -> (GqlResponse, StatusCode) {
    let operation = operation_name(&req, doc);
    // Kept for putting the answer's keys in order (`@skip`/`@include` decide what is there).
    let variables = req.variables.clone();
    let ctx = RequestCtx::new(principal.clone(), state.max_page_size);
    let req = req.data(ctx.clone());
    let Ok(mut resp) = tokio::time::timeout(state.request_timeout, state.schema.execute(req)).await
    else {
        let secs = state.request_timeout.as_secs_f32();
        let err = Error::Timeout(format!("the request did not finish within {secs} s"));
        return (
            GqlResponse::from_errors(vec![err.to_server_error()]),
            StatusCode::GATEWAY_TIMEOUT,
        );
    };
    code_request_errors(&mut resp, doc.is_some());
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
    if let Some(doc) = doc {
        order_response(&mut resp.data, doc, operation.as_deref(), &variables);
    }
    (resp, StatusCode::OK)
}
