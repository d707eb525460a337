//! GraphQL over HTTP: POST and GET execute; GET from a browser (Accept: text/html) gets
//! GraphiQL in developer mode.
use crate::{app::AppState, auth::Principal, graphql::RequestCtx};
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::{Html, IntoResponse, Response},
};

async fn execute(state: &AppState, req: GraphQLBatchRequest) -> GraphQLResponse {
    // Until token authentication lands (issue 3), every request acts as an operator.
    let principal = Principal::default_operator();
    let ctx = RequestCtx::new(principal, state.max_page_size);
    let mut req = req.into_inner();
    state.documents.prepare(&mut req);
    let req = req.data(ctx);
    state.schema.execute_batch(req).await.into()
}

/// POST /graphql.
pub async fn post(State(state): State<AppState>, req: GraphQLBatchRequest) -> GraphQLResponse {
    execute(&state, req).await
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
    match req {
        Ok(req) if !wants_html => execute(&state, req).await.into_response(),
        _ if wants_html && state.dev => {
            Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
        }
        Ok(req) => execute(&state, req).await.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}
