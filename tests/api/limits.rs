//! Query limits against abuse, each with its code, and introspection by configuration.
use crate::helpers::{Backend, TestApp, error_code, error_message};
use cur_gateway::{auth::Role, config::Introspection};
use serde_json::{Value, json};

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`), abridged to
/// the parts that set its depth and size.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

fn repeated(n: usize, field: impl Fn(usize) -> String) -> String {
    format!("{{ {} }}", (0..n).map(field).collect::<Vec<_>>().join(" "))
}

#[tokio::test]
async fn each_limit_refuses_with_its_code_and_runs_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // GraphiQL's introspection passes the defaults (the example operations do too: the
    // operations test runs each of them).
    let schema = app.data(INTROSPECTION, json!({})).await;
    assert!(schema["__schema"]["types"].as_array().is_some_and(|t| t.len() > 20));

    let deep = format!("{{ departments {{ {}id{} }} }}", "parent { ".repeat(15), " }".repeat(15));
    let too_many_aliases = repeated(31, |i| format!("a{i}: me {{ role }}"));
    let too_many_roots = repeated(21, |_| "me { role }".to_owned());
    let too_big = repeated(15, |i| {
        format!(
            "p{i}: complaints(first: 100) {{ edges {{ node {{ id number text status assignments {{ id reason department {{ name }} }} history {{ to at }} responses {{ text }} }} }} }}"
        )
    });
    for (query, what) in [
        (deep.as_str(), "deeper than 15"),
        (too_many_aliases.as_str(), "aliases"),
        (too_many_roots.as_str(), "root fields"),
        (too_big.as_str(), "values"),
    ] {
        let before = app.statements();
        let resp: Value = app.gql(query, json!({})).await;
        assert_eq!(error_code(&resp), Some("QUERY_TOO_COMPLEX"), "{what}: {resp}");
        assert!(error_message(&resp).contains(what), "{what}: {}", error_message(&resp));
        assert!(resp["data"].is_null());
        assert_eq!(app.statements(), before, "{what}: nothing ran");
    }

    // Batches: within the limit each operation answers; past it the whole batch is refused.
    let batch =
        |n: usize| json!((0..n).map(|_| json!({ "query": "{ me { role } }" })).collect::<Vec<_>>());
    let post = |body: Value| {
        app.client.post(app.url("/graphql")).bearer_auth(&app.operator).json(&body).send()
    };
    let resp = post(batch(10)).await.expect("batch");
    assert_eq!(resp.status(), 200);
    let answers: Value = resp.json().await.expect("json");
    assert_eq!(answers.as_array().map(Vec::len), Some(10));
    let resp = post(batch(11)).await.expect("batch");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let body: Value = post(json!([])).await.expect("empty batch").json().await.expect("json");
    assert!(body["errors"].is_array(), "an empty batch is an error: {body}");
}

#[tokio::test]
async fn limits_are_configurable_and_requests_time_out() {
    let app = TestApp::spawn_configured(Backend::Postgres, 30, |c| {
        c.limits.max_depth = 4;
        c.limits.max_complexity = 50;
        c.request_timeout_secs = 0;
    })
    .await;
    let resp = app.gql("{ departments { parent { parent { parent { id } } } } }", json!({})).await;
    assert_eq!(error_code(&resp), Some("QUERY_TOO_COMPLEX"));
    let resp = app.gql("{ complaints(first: 60) { edges { node { id } } } }", json!({})).await;
    assert_eq!(error_code(&resp), Some("QUERY_TOO_COMPLEX"));
    // A request that must wait for the database cannot finish within zero seconds.
    let (status, resp) =
        app.gql_as(Some(&app.operator), "{ complaints(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(status, 504);
    assert_eq!(error_code(&resp), Some("TIMEOUT"), "{resp}");
}

#[tokio::test]
async fn introspection_follows_its_setting() {
    let probe = "{ __schema { queryType { name } } }";
    for (setting, anonymous, authenticated) in [
        (Introspection::All, true, true),
        (Introspection::Authenticated, false, true),
        (Introspection::Off, false, false),
    ] {
        let app = TestApp::spawn_configured(Backend::Sqlite, 10, |c| {
            c.auth.introspection = Some(setting)
        })
        .await;
        let governor = app.token(Role::Governor, None, None);
        for (token, allowed) in [(None, anonymous), (Some(governor.as_str()), authenticated)] {
            let (_, resp) = app.gql_as(token, probe, json!({})).await;
            let answered = resp["data"]["__schema"]["queryType"]["name"] == "Query";
            assert_eq!(resp["errors"].is_array(), !allowed, "{resp}");
            assert_eq!(answered, allowed, "{setting:?} token={}: {resp}", token.is_some());
        }
        // Ordinary queries are unaffected.
        assert_eq!(app.data_as(None, "{ me { role } }", json!({})).await["me"]["role"], "public");
    }
}
