//! The HTTP surface: GraphiQL, GET queries, health, readiness, request ids, body limits.
use crate::helpers::{Backend, TestApp};
use serde_json::Value;

#[tokio::test]
async fn graphiql_health_readiness_and_get_queries() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    assert!(page.headers().contains_key("x-request-id"), "every response carries a request id");
    let html = page.text().await.expect("html");
    assert!(html.to_lowercase().contains("graphiql"), "GraphiQL page expected");

    let resp: Value = app
        .client
        .get(app.url("/graphql?query=%7B%20me%20%7B%20role%20%7D%20%7D"))
        .send()
        .await
        .expect("GET query")
        .json()
        .await
        .expect("json");
    assert_eq!(resp["data"]["me"]["role"], "public", "no token: the public role");

    // The second run of an operation uses the cached parsed document: same answer.
    let q = "{ complaints(first: 3) { edges { node { number status } } } }";
    assert_eq!(app.data(q, serde_json::json!({})).await, app.data(q, serde_json::json!({})).await);

    let health = app.client.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    let (_, ready) = app.readiness().await;
    assert_eq!(ready["db"], "ok");
    assert_eq!(ready["backend"], "sqlite");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_rejected() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400, "malformed JSON is a 400");
    let body: Value = resp.json().await.expect("a GraphQL error body");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let huge =
        format!("{{\"query\": \"{{ me {{ role }} }}\", \"x\": \"{}\"}}", "a".repeat(2 << 20));
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 413, "bodies over the limit are refused");
}

#[tokio::test]
async fn get_requests_never_run_mutations() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let before = app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await;
    let mutation = "mutation { ingestComplaints(input: [{ source: VK, externalId: \"get-1\", text: \"Яма\", municipalityId: \"1\" }]) { created } }";
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", mutation)])
        .bearer_auth(&app.operator)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await,
        before,
        "nothing written"
    );
}
