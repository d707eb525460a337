//! Bad input gets a clear error with a code, and no data.
use crate::helpers::{BOTH, TestApp, error_code, error_message};
use serde_json::{Value, json};

async fn expect_error(app: &TestApp, query: &str, vars: Value, code: &str, needle: &str) {
    let resp = app.gql(query, vars).await;
    assert_eq!(error_code(&resp), Some(code), "{query}: {resp:#}");
    assert!(
        error_message(&resp).contains(needle),
        "message {:?} should mention {needle:?}",
        error_message(&resp)
    );
}

const LIST: &str = "query($first: Int, $last: Int, $after: String, $order: ComplaintOrder) {
    complaints(first: $first, last: $last, after: $after, orderBy: $order) { edges { cursor } } }";

#[tokio::test]
async fn bad_arguments_are_rejected_with_codes() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let one = "query($id: ID!) { complaint(id: $id) { number } }";
        expect_error(&app, one, json!({ "id": "999999999" }), "NOT_FOUND", "complaint 999999999")
            .await;
        expect_error(&app, one, json!({ "id": "abc" }), "BAD_USER_INPUT", "not a valid id").await;
        let resp = app.gql(one, json!({ "id": "999999999" })).await;
        assert_eq!(resp["data"]["complaint"], Value::Null);

        expect_error(&app, LIST, json!({ "first": -1 }), "BAD_USER_INPUT", "between 0 and 100")
            .await;
        expect_error(&app, LIST, json!({ "first": 100000 }), "BAD_USER_INPUT", "between 0 and 100")
            .await;
        expect_error(&app, LIST, json!({ "last": 101 }), "BAD_USER_INPUT", "`last`").await;
        expect_error(&app, LIST, json!({ "first": 1, "last": 1 }), "BAD_USER_INPUT", "either")
            .await;
        expect_error(
            &app,
            LIST,
            json!({ "first": 5, "after": "garbage!" }),
            "BAD_USER_INPUT",
            "malformed cursor",
        )
        .await;
        // A well-formed cursor of another order.
        let data = app.data(LIST, json!({ "first": 1 })).await;
        let cursor = data["complaints"]["edges"][0]["cursor"].as_str().expect("cursor").to_owned();
        let order = json!({ "field": "NUMBER", "direction": "ASC" });
        expect_error(
            &app,
            LIST,
            json!({ "first": 5, "after": cursor, "order": order }),
            "BAD_USER_INPUT",
            "different orderBy",
        )
        .await;

        let dept = "query($id: ID!) { department(id: $id) { name } }";
        expect_error(&app, dept, json!({ "id": "4242" }), "NOT_FOUND", "department 4242").await;
        let staff = "query($id: ID!) { staff(id: $id) { fullName } }";
        expect_error(&app, staff, json!({ "id": "4242424" }), "NOT_FOUND", "staff 4242424").await;

        let filter = "query($f: ComplaintFilter) { complaints(filter: $f) { totalCount } }";
        expect_error(
            &app,
            filter,
            json!({ "f": { "municipalityId": "x1" } }),
            "BAD_USER_INPUT",
            "municipalityId",
        )
        .await;
        expect_error(
            &app,
            filter,
            json!({ "f": { "receivedFrom": "2026-02-01T00:00:00Z", "receivedTo": "2026-01-01T00:00:00Z" } }),
            "BAD_USER_INPUT",
            "receivedFrom",
        )
        .await;
        expect_error(&app, filter, json!({ "f": { "status": [] } }), "BAD_USER_INPUT", "status")
            .await;
    }
}

#[tokio::test]
async fn invalid_documents_and_enum_values_are_rejected() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let resp =
        app.gql("{ complaints(filter: { category: WEATHER }) { totalCount } }", json!({})).await;
    assert!(resp["errors"][0]["message"].as_str().is_some_and(|m| m.contains("WEATHER")), "{resp}");
    assert!(resp.get("data").is_none_or(Value::is_null));
    let resp = app.gql("{ complaints { nosuchfield } }", json!({})).await;
    assert!(error_message(&resp).contains("nosuchfield"), "{resp}");
    let resp = app.gql("{ complaints(first: 1) { edges ", json!({})).await;
    assert!(resp["errors"].is_array(), "{resp}");
}
