//! Persisted operations: automatic persisted queries over POST and GET, registered through one
//! replica and known to the other through Redis (in memory without it), a hash that does not
//! match refused; and trusted documents — the manifest of `schema/operations/`, kept equal to
//! the files and valid against the schema — with roles that may run only them.
use crate::helpers::{Backend, TestApp, error_code};
use crate::ws::connected;
use chrono::Utc;
use cur_gateway::{Config, Manifest, auth::Role, sha256_hex};
use serde_json::{Value, json};
use std::{path::Path, time::Duration};

const Q: &str = "query Towns { municipalities { id name } }";

fn pq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.client.post(app.url("/graphql")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.json().await.expect("JSON"))
}

fn shared_redis(c: &mut Config) {
    c.redis_url = Some("redis://127.0.0.1:6379".into());
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
    c.cache_prefix = format!("test-apq:{}:{nanos}:", std::process::id());
}

#[tokio::test]
async fn automatic_persisted_queries_are_shared_by_replicas_over_post_and_get() {
    let one = TestApp::spawn_configured(Backend::Postgres, 10, shared_redis).await;
    let two = one.another().await;
    let hash = sha256_hex(Q);

    // Unknown hash: the client is told to send the document.
    let (status, body) = post(&one, None, json!({ "extensions": pq(&hash) })).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"));
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    // The document with its hash: answered and registered.
    let (status, registered) =
        post(&one, None, json!({ "query": Q, "extensions": pq(&hash) })).await;
    assert_eq!(status, 200);
    assert!(registered["data"]["municipalities"].as_array().is_some_and(|m| !m.is_empty()));

    // The other replica knows it, by POST and by a cacheable GET.
    let (status, by_hash) = post(&two, None, json!({ "extensions": pq(&hash) })).await;
    assert_eq!((status, &by_hash["data"]), (200, &registered["data"]), "{by_hash:#}");
    let extensions = pq(&hash).to_string();
    let resp = two
        .client
        .get(two.url("/graphql"))
        .query(&[("extensions", extensions.as_str())])
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    let by_get: Value = resp.json().await.expect("JSON");
    assert_eq!(by_get["data"], registered["data"]);

    // A document that is not the one its hash names is refused; nothing runs.
    let other = "{ departments { id } }";
    let (_, body) = post(&one, None, json!({ "query": other, "extensions": pq(&hash) })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_HASH_MISMATCH"), "{body:#}");
    assert!(body.get("data").is_none());
    let (_, body) =
        post(&one, None, json!({ "extensions": { "persistedQuery": { "sha256Hash": "zz" } } }))
            .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    // Still the registered document under that hash.
    let (_, again) = post(&two, None, json!({ "extensions": pq(&hash) })).await;
    assert_eq!(again["data"], registered["data"]);
}

#[tokio::test]
async fn without_redis_registered_documents_live_in_the_process() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |_| {}).await;
    let hash = sha256_hex(Q);
    let (_, miss) = post(&app, None, json!({ "extensions": pq(&hash) })).await;
    assert_eq!(error_code(&miss), Some("PERSISTED_QUERY_NOT_FOUND"));
    post(&app, None, json!({ "query": Q, "extensions": pq(&hash) })).await;
    let (_, hit) = post(&app, None, json!({ "extensions": pq(&hash) })).await;
    assert!(hit["data"]["municipalities"].is_array(), "{hit:#}");
}

fn manifest() -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/operations/manifest.json");
    Manifest::read(&path).expect("the committed manifest")
}

fn id_of(name: &str) -> String {
    manifest().operations.into_iter().find(|o| o.name == name).expect("an operation").id
}

#[test]
fn the_committed_manifest_is_the_one_of_the_operation_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/operations");
    let built = serde_json::to_value(Manifest::from_dir(&dir).expect("the files")).expect("JSON");
    let committed = serde_json::to_value(manifest()).expect("JSON");
    assert_eq!(built, committed, "run `cargo run -- manifest > schema/operations/manifest.json`");
}

/// Trusted documents from the committed manifest; only operators send documents of their own.
pub(crate) fn trusted(c: &mut Config) {
    c.trusted_documents =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/operations/manifest.json"));
    c.adhoc_roles = "operator".into();
}

#[tokio::test]
async fn with_trusted_documents_other_roles_run_only_the_manifest_by_id() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, trusted).await;
    let towns = id_of("Municipalities");

    // The public: by documentId or by hash, never a document of its own.
    let (status, body) = post(&app, None, json!({ "documentId": format!("sha256:{towns}") })).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["data"]["municipalities"].is_array(), "{body:#}");
    let (_, body) = post(&app, None, json!({ "extensions": pq(&towns) })).await;
    assert!(body["data"]["municipalities"].is_array(), "{body:#}");
    let (_, body) = post(&app, None, json!({ "query": Q })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_ID_REQUIRED"), "{body:#}");
    let (_, body) = post(&app, None, json!({ "documentId": sha256_hex("{ x }") })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_NOT_IN_LIST"));
    // Registering a document of its own (APQ) is no way around the list.
    let (_, body) = post(&app, None, json!({ "query": Q, "extensions": pq(&sha256_hex(Q)) })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_NOT_IN_LIST"));
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("documentId", format!("sha256:{towns}"))])
        .send()
        .await
        .expect("GET");
    let body: Value = resp.json().await.expect("JSON");
    assert!(body["data"]["municipalities"].is_array(), "a trusted GET: {body:#}");

    // A ministry's worklist, with variables; the operator may still send anything.
    let ministry = app.token(Role::Ministry, Some(1), None);
    let vars = json!({ "filter": { "status": ["NEW", "ASSIGNED"] } });
    let (_, body) =
        post(&app, Some(&ministry), json!({ "documentId": id_of("Worklist"), "variables": vars }))
            .await;
    assert!(body["data"]["complaints"]["totalCount"].is_number(), "{body:#}");
    let (_, body) = post(&app, Some(&ministry), json!({ "query": Q })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_ID_REQUIRED"));
    let (_, body) = post(&app, Some(&app.operator), json!({ "query": Q })).await;
    assert!(body["data"]["municipalities"].is_array(), "{body:#}");

    // A subscription by id over the socket.
    let governor = app.token(Role::Governor, None, None);
    let mut ws = connected(&app, Some(&governor)).await;
    ws.send(json!({ "id": "feed", "type": "subscribe",
                    "payload": { "extensions": pq(&id_of("DashboardFeed")), "variables": {} } }))
        .await;
    ws.send(json!({ "id": "own", "type": "subscribe",
                    "payload": { "query": "subscription { complaintEvents { kind } }" } }))
        .await;
    let refused = ws.next().await;
    assert_eq!(refused["id"], "own", "{refused:#}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "PERSISTED_QUERY_ID_REQUIRED");
    let items = json!([{ "source": "EMAIL", "externalId": "trusted-1", "municipalityId": "1",
                         "text": "Не работает лифт" }]);
    let ingest =
        json!({ "query": manifest_body("IngestComplaints"), "variables": { "items": items } });
    let (_, body) = post(&app, Some(&app.operator), ingest).await;
    assert_eq!(body["data"]["ingestComplaints"]["created"], 1, "{body:#}");
    let event = ws.next_within(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(event["id"], "feed");
    assert_eq!(event["payload"]["data"]["complaintEvents"]["kind"], "CREATED", "{event:#}");
}

/// The body of the manifest's operation `name`.
pub(crate) fn manifest_body(name: &str) -> String {
    manifest().operations.into_iter().find(|o| o.name == name).expect("an operation").body
}

#[tokio::test]
async fn every_trusted_document_is_valid_against_the_schema() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |_| {}).await;
    for op in manifest().operations {
        if op.kind == "subscription" {
            let mut ws = connected(&app, Some(&app.operator.clone())).await;
            let vars = json!({ "f": { "from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z" },
                               "g": "SOURCE" });
            ws.send(json!({ "id": "s", "type": "subscribe",
                            "payload": { "query": op.body, "variables": vars } }))
                .await;
            if let Some(msg) = ws.next_within(Duration::from_millis(500)).await {
                assert_ne!(msg["type"], "error", "{}: {msg:#}", op.name);
            }
            continue;
        }
        let vars = json!({ "items": [] });
        let (_, body) =
            post(&app, Some(&app.operator), json!({ "query": op.body, "variables": vars })).await;
        assert_ne!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "{}: {body:#}", op.name);
        assert_ne!(error_code(&body), Some("GRAPHQL_PARSE_FAILED"), "{}", op.name);
    }
}

#[tokio::test]
async fn the_dashboard_sends_trusted_documents_that_roles_limited_to_them_may_run() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, trusted).await;
    let page = app.client.get(app.url("/dashboard")).send().await.expect("page");
    let html = page.text().await.expect("html");
    let doc = |name: &str| -> Value {
        let start = html.find(&format!("const {name} = ")).expect("the document") + name.len() + 9;
        let end = start + html[start..].find(";\n").expect("its end");
        serde_json::from_str(&html[start..end]).expect("JSON")
    };
    let (kpi, feed) = (doc("KPI_DOC"), doc("FEED_DOC"));
    assert_eq!(kpi["hash"], id_of("DashboardKpis"));
    assert_eq!(feed["hash"], id_of("DashboardFeed"));
    // What the page sends, as a governor (not an ad-hoc role): accepted.
    let governor = app.token(Role::Governor, None, None);
    let mut ws = connected(&app, Some(&governor)).await;
    let to = Utc::now() + chrono::Duration::hours(1);
    let vars = json!({ "f": { "from": to - chrono::Duration::days(30), "to": to }, "g": "SOURCE" });
    ws.send(json!({ "id": "kpi", "type": "subscribe", "payload": {
        "query": kpi["query"], "extensions": pq(kpi["hash"].as_str().expect("hash")), "variables": vars } }))
        .await;
    let first = ws.next().await;
    assert_eq!(
        (first["id"].as_str(), first["type"].as_str()),
        (Some("kpi"), Some("next")),
        "{first:#}"
    );
}

#[tokio::test]
async fn only_anonymous_gets_without_errors_may_be_kept_by_shared_caches() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |c| c.public_max_age_secs = 45).await;
    let hash = sha256_hex(Q);
    post(&app, None, json!({ "query": Q, "extensions": pq(&hash) })).await;
    let extensions = pq(&hash).to_string();
    let get = |token: Option<String>, params: Vec<(&'static str, String)>| {
        let mut req = app.client.get(app.url("/graphql")).query(&params);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.expect("GET");
            let header = |name: &str| {
                resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
            };
            (header("cache-control"), header("vary"), header("ratelimit"))
        }
    };
    // The public's page by hash: the same for every anonymous caller, so a CDN may keep it,
    // apart from answers to requests with a token; without anyone's remaining budget.
    let (control, vary, budget) = get(None, vec![("extensions", extensions.clone())]).await;
    assert_eq!(control.as_deref(), Some("public, max-age=45"));
    assert!(vary.is_some_and(|v| v.contains("authorization")));
    assert_eq!(budget, None);
    // A token's answer, an error, a POST: kept by nobody.
    let governor = app.token(Role::Governor, None, None);
    let (control, _, _) = get(Some(governor), vec![("extensions", extensions.clone())]).await;
    assert_eq!(control.as_deref(), Some("no-store"), "a token's rows");
    let search = "{ complaints(first: 1, filter: {search: \"снег\"}) { totalCount } }";
    let (control, _, _) = get(None, vec![("query", search.into())]).await;
    assert_eq!(control.as_deref(), Some("no-store"), "an error (the public may not search)");
    let (control, _, _) =
        get(None, vec![("extensions", pq(&sha256_hex("{ x }")).to_string())]).await;
    assert_eq!(control.as_deref(), Some("no-store"), "an unknown hash: registered next");
    let resp = app.client.post(app.url("/graphql")).json(&json!({ "query": Q })).send().await;
    let control = resp.expect("POST").headers().get("cache-control").cloned();
    assert_eq!(control.as_ref().and_then(|v| v.to_str().ok()), Some("no-store"), "a POST");
}
