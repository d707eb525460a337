//! The gateway as an Apollo Federation v2 subgraph: `_entities` resolves every role's
//! representations through its row scope — for each of the matrix's principals and each
//! filter of the boundary matrix, the complaints a router asks for by the filter's ids come
//! back exactly where "scope AND filter" in SQL says, and null elsewhere — and the fields of
//! what resolves keep their rules. Off by default: without `CUR_FEDERATION` the fields do
//! not exist.
use crate::boundary::{self, Instants};
use crate::helpers::{Backend, TestApp, error_code};
use serde_json::{Value, json};

const ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    __typename ... on Complaint { id number } ... on Department { id name } \
    ... on Municipality { id name } ... on Staff { id fullName } } }";

fn complaints(ids: &[i64]) -> Value {
    Value::Array(
        ids.iter().map(|id| json!({ "__typename": "Complaint", "id": id.to_string() })).collect(),
    )
}

/// The ids of the complaints that resolved, in order.
fn resolved(data: &Value) -> Vec<i64> {
    data["_entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter(|e| !e.is_null())
        .map(|e| e["id"].as_str().and_then(|id| id.parse().ok()).expect("id"))
        .collect()
}

#[tokio::test]
async fn entities_resolve_within_each_roles_scope_for_every_filter() {
    let app = TestApp::spawn_configured(Backend::Postgres, 400, |c| c.federation = true).await;
    let askers = boundary::askers(&app).await;
    let singles = boundary::single_filters(&app).await;
    let cases = boundary::filter_cases(&singles);
    let now = chrono::Utc::now();
    let at = Instants {
        now,
        from: now - chrono::Duration::days(60),
        to: now - chrono::Duration::days(20),
    };
    // What a router would ask for: every complaint a filter names, whatever the scope.
    let router = boundary::Asker {
        name: "router".into(),
        kind: boundary::Kind::Region,
        token: None,
        scope_sql: "1 = 1".into(),
        may_search: true,
    };
    let mut cells = 0;
    for filter in &cases {
        let asked = boundary::expected_ids(
            &app.db,
            &router,
            filter,
            ("RECEIVED_AT", "received_at"),
            true,
            at,
        )
        .await;
        for asker in &askers {
            let want = boundary::expected_ids(
                &app.db,
                asker,
                filter,
                ("RECEIVED_AT", "received_at"),
                true,
                at,
            )
            .await;
            let (status, body) = app
                .gql_as(asker.token.as_deref(), ENTITIES, json!({ "r": complaints(&asked) }))
                .await;
            assert_eq!(status, 200, "{} / {}: {body}", asker.name, filter.name);
            assert!(body["errors"].is_null(), "{} / {}: {body}", asker.name, filter.name);
            let entities = body["data"]["_entities"].as_array().expect("entities");
            assert_eq!(entities.len(), asked.len(), "one answer per representation");
            // In the order asked, so the in-scope ones come back in SQL's order.
            assert_eq!(resolved(&body["data"]), want, "{} / {}", asker.name, filter.name);
            cells += 1;
        }
    }
    eprintln!("{cells} cells");
    assert!(cells >= 500, "{cells}");
}

#[tokio::test]
async fn entity_fields_keep_their_rules_and_the_directory_resolves_for_everyone() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 120, |c| c.federation = true).await;
    let reps = json!([
        { "__typename": "Department", "id": "1" },
        { "__typename": "Municipality", "id": "2" },
        { "__typename": "Staff", "id": "1" },
        { "__typename": "Department", "id": "999999" },
    ]);
    for token in [None, Some(app.token(cur_gateway::auth::Role::Ministry, Some(1), None))] {
        let data = app.data_as(token.as_deref(), ENTITIES, json!({ "r": reps })).await;
        let e = &data["_entities"];
        assert_eq!(e[0]["__typename"], "Department");
        assert_eq!(e[1]["__typename"], "Municipality");
        assert!(e[2]["fullName"].is_string(), "{e}");
        assert!(e[3].is_null(), "an unknown id resolves to null");
    }
    // The public reads public complaints masked, and never their external ids.
    let public_id = app
        .db
        .sql_i64("SELECT id FROM complaint WHERE is_public ORDER BY id LIMIT 1", vec![])
        .await;
    let private_id = app
        .db
        .sql_i64("SELECT id FROM complaint WHERE NOT is_public ORDER BY id LIMIT 1", vec![])
        .await;
    let q =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Complaint { id text } } }";
    let data = app.data_as(None, q, json!({ "r": complaints(&[public_id, private_id]) })).await;
    assert!(data["_entities"][0]["text"].is_string() && data["_entities"][1].is_null(), "{data}");
    let via_root = app
        .data_as(
            None,
            "query($id: ID!) { complaint(id: $id) { text } }",
            json!({ "id": public_id.to_string() }),
        )
        .await;
    assert_eq!(data["_entities"][0]["text"], via_root["complaint"]["text"], "masked as everywhere");
    let q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Complaint { externalId } } }";
    let (_, refused) = app.gql_as(None, q, json!({ "r": complaints(&[public_id]) })).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    // The author: a ministry only while assigned, exactly as through `complaint`.
    let (cid, dept) = {
        let rows = app.db.sql("SELECT id, department_id FROM complaint WHERE department_id IS NOT NULL AND author_name IS NOT NULL ORDER BY id LIMIT 1", vec![]).await;
        (
            rows[0].try_get_by_index::<i64>(0).expect("id"),
            rows[0].try_get_by_index::<i32>(1).expect("dept"),
        )
    };
    let q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Complaint { author { name } } } }";
    let own = app.token(cur_gateway::auth::Role::Ministry, Some(dept), None);
    let data = app.data_as(Some(&own), q, json!({ "r": complaints(&[cid]) })).await;
    assert!(data["_entities"][0]["author"]["name"].is_string(), "{data}");
    let (_, other) = app
        .gql_as(
            Some(&app.token(cur_gateway::auth::Role::Municipality, None, Some(1))),
            q,
            json!({ "r": complaints(&[cid]) }),
        )
        .await;
    assert_eq!(error_code(&other), Some("FORBIDDEN"), "{other}");

    // Bad representations are the caller's error.
    for (bad, why) in [
        (json!([{ "id": "1" }]), "__typename is missing"),
        (json!([{ "__typename": "Viewer", "id": "1" }]), "not an entity"),
        (json!([{ "__typename": "Complaint", "id": 1 }]), "as a string"),
    ] {
        let (_, body) = app.gql_as(Some(&app.operator), ENTITIES, json!({ "r": bad })).await;
        assert!(body.to_string().contains(why), "{why}: {body}");
        assert!(matches!(error_code(&body), Some("BAD_USER_INPUT")), "{body}");
    }
    // Not an object at all: the scalar refuses it before anything runs.
    let (_, body) = app.gql_as(Some(&app.operator), ENTITIES, json!({ "r": ["x"] })).await;
    assert!(body["data"].is_null() && body.to_string().contains("is an object"), "{body}");
    // The result's size counts one entity per representation, as the limits see it.
    let heavy = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Complaint { \
        history { id from to actor comment at } responses { id text isPublic at } \
        assignments { id assignedAt reason department { name } } } } }";
    let many: Vec<i64> = (1..=1000).collect();
    let (_, refused) =
        app.gql_as(Some(&app.operator), heavy, json!({ "r": complaints(&many) })).await;
    assert_eq!(
        error_code(&refused),
        Some("QUERY_TOO_COMPLEX"),
        "{}",
        &refused.to_string()[..200.min(refused.to_string().len())]
    );
    let (_, fine) =
        app.gql_as(Some(&app.operator), heavy, json!({ "r": complaints(&many[..20]) })).await;
    assert!(fine["errors"].is_null(), "{fine}");
    // The router's SDL.
    let data = app.data_as(None, "{ _service { sdl } }", json!({})).await;
    assert_eq!(
        data["_service"]["sdl"].as_str(),
        Some(cur_gateway::graphql::subgraph_sdl().as_str())
    );
}

#[tokio::test]
async fn the_subgraph_sdl_is_introspection_and_follows_its_policy() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 20, |c| {
        c.federation = true;
        c.auth.introspection = Some(cur_gateway::config::Introspection::Authenticated);
    })
    .await;
    let (_, anonymous) = app.gql_as(None, "{ _service { sdl } }", json!({})).await;
    assert_eq!(error_code(&anonymous), Some("FORBIDDEN"), "{anonymous}");
    assert!(anonymous["data"].is_null(), "{anonymous}");
    let with_token = app.data("{ _service { sdl } }", json!({})).await;
    assert!(with_token["_service"]["sdl"].as_str().is_some_and(|s| s.contains("@key")));
}

#[tokio::test]
async fn without_the_switch_there_are_no_subgraph_fields() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, body) = app.gql_as(Some(&app.operator), "{ _service { sdl } }", json!({})).await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    assert!(body.to_string().contains("CUR_FEDERATION"), "{body}");
    let reps = json!([{ "__typename": "Complaint", "id": "1" }]);
    let (_, body) = app.gql_as(Some(&app.operator), ENTITIES, json!({ "r": reps })).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let types =
        app.data("{ __schema { types { name } queryType { fields { name } } } }", json!({})).await;
    let text = types.to_string();
    for hidden in ["_entities", "_service", "_Entity", "_Service", "_Any"] {
        assert!(!text.contains(&format!("\"{hidden}\"")), "{hidden} is hidden: {text}");
    }
}

/// Apollo Gateway (`tests/federation/router.mjs`) in front of `subgraph`, with a surveys
/// subgraph of its own whose surveys point at `complaints`; killed on drop.
struct Router {
    child: std::process::Child,
    url: String,
}

impl Router {
    fn start(subgraph: &str, complaints: &[i64]) -> Router {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/federation");
        if !std::path::Path::new(dir).join("node_modules").exists() {
            // The router's packages, exactly as locked (CI installs them first).
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix", dir])
                .status()
                .expect("npm (Node.js) runs the federation router");
            assert!(status.success(), "npm ci in {dir}");
        }
        let ids: Vec<String> = complaints.iter().map(i64::to_string).collect();
        let mut child = std::process::Command::new("node")
            .arg(format!("{dir}/router.mjs"))
            .env("CUR_SUBGRAPH_URL", subgraph)
            .env("SURVEY_COMPLAINTS", ids.join(","))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("node runs the federation router");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(url) = v["router"].as_str()
                {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the router composed the supergraph and listens");
        Router { child, url }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federation_router_joins_complaints_into_its_graph_within_each_callers_scope() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 400, |c| c.federation = true).await;
    let all: Vec<i64> = app.db.sql_column("SELECT id FROM complaint ORDER BY id", vec![]).await;
    let router = Router::start(&app.url("/graphql"), &all);
    let client = reqwest::Client::new();
    let query = "{ surveys { id score complaint { id number status } } }";
    let mut cells = 0;
    for asker in boundary::askers(&app).await {
        let mut req = client.post(&router.url).json(&json!({ "query": query }));
        if let Some(token) = &asker.token {
            // The router forwards the caller's token to the subgraph.
            req = req.bearer_auth(token);
        }
        let body: Value = req.send().await.expect("router").json().await.expect("json");
        assert!(body["errors"].is_null(), "{}: {body}", asker.name);
        let surveys = body["data"]["surveys"].as_array().expect("surveys");
        assert_eq!(surveys.len(), all.len(), "{}: every survey", asker.name);
        let joined: Vec<i64> = surveys
            .iter()
            .filter(|s| !s["complaint"].is_null())
            .map(|s| s["complaint"]["id"].as_str().and_then(|id| id.parse().ok()).expect("id"))
            .collect();
        let want: Vec<i64> = app
            .db
            .sql_column(
                &format!("SELECT id FROM complaint WHERE {} ORDER BY id", asker.scope_sql),
                vec![],
            )
            .await;
        assert_eq!(joined, want, "{}: the complaints its scope holds", asker.name);
        cells += 1;
    }
    assert_eq!(cells, 10);
    // A field the caller's role may not see is refused by the subgraph, through the router.
    let body: Value = client
        .post(&router.url)
        .json(&json!({ "query": "{ surveys { complaint { externalId } } }" }))
        .send()
        .await
        .expect("router")
        .json()
        .await
        .expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["serviceName"], "cur", "{body}");
}
