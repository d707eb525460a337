//! GraphQL over HTTP to the letter of the graphql-over-http draft: the response media type
//! follows `Accept`, request errors are 400 in `application/graphql-response+json` (200 in
//! legacy JSON) and carry no `data`, every error has `extensions.code`, variables that do not
//! coerce or are missing stop the operation before anything runs, non-JSON bodies are 415 and
//! oversized ones 413 with a GraphQL error.
use crate::helpers::{Backend, TestApp};
use serde_json::{Value, json};

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// POSTs `body` with `accept` (none: no header); returns status, content type and JSON body.
async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = app.client.post(app.url("/graphql")).bearer_auth(&app.operator).json(&body);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let resp = req.send().await.expect("POST");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, resp.json().await.expect("a JSON body"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn the_media_type_follows_accept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ok = json!({ "query": "{ me { role } }" });
    for (accept, expected) in [
        (Some(GQL), GQL),
        (Some(JSON), JSON),
        (None, JSON),
        (Some("*/*"), JSON),
        (Some("application/json;q=0.5, application/graphql-response+json"), GQL),
        (Some("application/graphql-response+json;q=0, application/json"), JSON),
    ] {
        let (status, content_type, body) = post(&app, accept, ok.clone()).await;
        assert_eq!(status, 200, "{accept:?}");
        assert!(content_type.starts_with(expected), "{accept:?}: {content_type}");
        assert_eq!(body["data"]["me"]["role"], "operator", "{accept:?}: {body}");
    }
    // Answers from the operation cache follow it too.
    let cached = json!({ "query": "{ complaints(first: 2) { totalCount } }" });
    for accept in [GQL, JSON, GQL] {
        let (_, content_type, body) = post(&app, Some(accept), cached.clone()).await;
        assert!(content_type.starts_with(accept), "{accept}: {content_type}");
        assert!(body["data"]["complaints"]["totalCount"].is_number());
    }
}

#[tokio::test]
async fn request_errors_are_400_in_graphql_response_json_and_name_their_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cases = [
        (json!({ "query": "{ complaints(" }), "GRAPHQL_PARSE_FAILED"),
        (json!({ "query": "{ complaints { nope } }" }), "GRAPHQL_VALIDATION_FAILED"),
        (
            json!({ "query": "query A { me { role } }", "operationName": "B" }),
            "OPERATION_NOT_FOUND",
        ),
        (
            json!({ "query": "query($n: Int) { complaints(first: $n) { totalCount } }",
                    "variables": { "n": 2147483648_i64 } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "query": "query($f: ComplaintFilter) { complaints(filter: $f) { totalCount } }",
                    "variables": { "f": { "receivedFrom": "yesterday" } } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "query": "query($id: ID!) { complaint(id: $id) { number } }", "variables": {} }),
            "BAD_USER_INPUT",
        ),
    ];
    for (request, expected) in cases {
        let before = app.statements();
        for (accept, status) in [(GQL, 400), (JSON, 200)] {
            let (got, _, body) = post(&app, Some(accept), request.clone()).await;
            assert_eq!(got, status, "{accept} {request}: {body}");
            assert_eq!(code(&body), expected, "{accept} {request}: {body}");
            assert!(body.get("data").is_none(), "a request error has no data: {body}");
        }
        assert_eq!(app.statements(), before, "{request}: nothing ran");
    }
    // A field error is not a request error: 200 with data in either type.
    let missing = json!({ "query": "{ complaint(id: \"999999\") { number } }" });
    let (status, _, body) = post(&app, Some(GQL), missing).await;
    assert_eq!((status, code(&body)), (200, "NOT_FOUND"), "{body}");
    assert!(body.get("data").is_some(), "{body}");
}

#[tokio::test]
async fn a_mutation_missing_a_required_variable_does_not_run() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let id = app
        .db
        .sql_i64(
            "SELECT id FROM complaint WHERE status = 'IN_PROGRESS' ORDER BY id LIMIT 1",
            vec![],
        )
        .await;
    let version =
        app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {id}"), vec![]).await;
    let reject = "mutation($id: ID!, $reason: String!, $v: Int!) { \
                  rejectComplaint(id: $id, reason: $reason, expectedVersion: $v) { status } }";
    let body = json!({ "query": reject, "variables": { "id": id.to_string(), "v": version } });
    let (status, _, resp) = post(&app, Some(GQL), body).await;
    assert_eq!((status, code(&resp)), (400, "BAD_USER_INPUT"), "{resp}");
    assert!(resp["errors"][0]["message"].as_str().unwrap_or("").contains("$reason"), "{resp}");
    let after =
        app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {id}"), vec![]).await;
    assert_eq!(after, version, "nothing was written");
}

#[tokio::test]
async fn bodies_that_are_not_json_are_415_and_oversized_ones_413_with_a_graphql_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut req = app.client.post(app.url("/graphql")).body(r#"{"query": "{ me { role } }"}"#);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let resp = req.header("accept", GQL).send().await.expect("POST");
        assert_eq!(resp.status().as_u16(), 415, "{content_type:?}");
        let body: Value = resp.json().await.expect("a JSON error");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    let huge =
        format!("{{\"query\": \"{{ me {{ role }} }}\", \"x\": \"{}\"}}", "a".repeat(2 << 20));
    for accept in [GQL, JSON] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", JSON)
            .header("accept", accept)
            .body(huge.clone())
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status().as_u16(), 413);
        let content_type = resp.headers()["content-type"].to_str().expect("text").to_owned();
        assert!(content_type.starts_with(accept), "{content_type}");
        let body: Value = resp.json().await.expect("a JSON error");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
}
