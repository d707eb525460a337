//! The access boundary on the other routes an operation takes to the rows, each against SQL
//! written here, for every principal × every filter alone and in pairs: trusted documents
//! named by `documentId` and automatic persisted queries named by hash (POST and GET; the
//! document registered by an operator, run by each principal), and reads served by a streaming
//! replica (`DATABASE_READ_URL`). A persisted document is text the gateway keeps, never a result:
//! whoever names it gets the rows of their own scope.
use crate::boundary::{
    Asker, FilterCase, Instants, Kind, answered, askers, expected_ids, filter_cases,
    single_filters, with_instants,
};
use crate::cluster::PgCluster;
use crate::helpers::{Backend, TestApp, TestDb, error_code, metric, node_ids};
use crate::persisted::{manifest_body, trusted};
use crate::replicas::on_a_replica;
use chrono::{Duration, Utc};
use cur_gateway::sha256_hex;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

/// Requests in flight at once.
const PARALLEL: usize = 4;

/// How a request names its operation.
#[derive(Clone, Copy, Debug)]
enum Named {
    /// `documentId: "sha256:<hex>"` (trusted documents).
    DocumentId,
    /// `extensions.persistedQuery.sha256Hash` (automatic persisted queries).
    Hash,
    /// The document itself.
    Text,
}

#[derive(Clone, Copy, Debug)]
enum Method {
    Post,
    Get,
}

/// One operation as the test sends it: its text, its hash, and the order its page follows.
struct Operation {
    name: &'static str,
    body: String,
    /// (GraphQL order field, SQL column, ascending)
    order: (&'static str, &'static str, bool),
    /// Rows on its first page.
    page: usize,
}

impl Operation {
    fn hash(&self) -> String {
        sha256_hex(&self.body)
    }
}

/// Sends `op` as `named` over `method` with `variables` as `token`; the status and the JSON.
async fn send(
    app: &TestApp,
    token: Option<&str>,
    op: &Operation,
    named: Named,
    method: Method,
    variables: &Value,
) -> (u16, Value) {
    let mut body = json!({ "variables": variables });
    match named {
        Named::DocumentId => body["documentId"] = json!(format!("sha256:{}", op.hash())),
        Named::Hash => {
            body["extensions"] =
                json!({ "persistedQuery": { "version": 1, "sha256Hash": op.hash() } });
        }
        Named::Text => body["query"] = json!(op.body),
    }
    let mut req = match method {
        Method::Post => app.client.post(app.url("/graphql")).json(&body),
        // The same fields as URL parameters: strings as they are, objects as JSON text.
        Method::Get => {
            let params: Vec<(&String, String)> = body
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect();
            app.client.get(app.url("/graphql")).query(&params)
        }
    };
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.json().await.expect("JSON"))
}

/// One cell of a matrix; whether it held rows.
struct Cell<'a> {
    asker: &'a Asker,
    filter: &'a FilterCase,
    op: &'a Operation,
    named: Named,
    method: Method,
}

/// Checks one cell against SQL over `truth`: `totalCount` and the first page's ids.
async fn check(app: &TestApp, truth: &TestDb, cell: Cell<'_>, at: Instants) -> bool {
    let Cell { asker, filter, op, named, method } = cell;
    let what = format!(
        "{} as {} by {named:?} over {method:?} / filter {}",
        op.name, asker.name, filter.name
    );
    let variables = json!({ "filter": with_instants(&filter.input, at) });
    let (status, resp) = send(app, asker.token.as_deref(), op, named, method, &variables).await;
    if !answered(asker, filter, status, &resp, &what) {
        return false;
    }
    let (_, column, ascending) = op.order;
    let ids = expected_ids(truth, asker, filter, (op.order.0, column), ascending, at).await;
    let connection = &resp["data"]["complaints"];
    assert_eq!(connection["totalCount"], ids.len(), "{what}: totalCount");
    let first: Vec<i64> = ids.iter().take(op.page).copied().collect();
    assert_eq!(node_ids(connection), first, "{what}: first page");
    !ids.is_empty()
}

/// Runs every cell; asserts each principal but the integration account (which reads no
/// complaints) read rows in a third of its cells or more, so the comparisons compared rows.
async fn run(app: &TestApp, truth: &TestDb, cells: Vec<Cell<'_>>, at: Instants) -> usize {
    let total = cells.len();
    let held: Vec<(String, bool)> = stream::iter(cells)
        .map(|cell| async move {
            let name = cell.asker.name.clone();
            let integration = cell.asker.kind == Kind::Integration;
            (name, check(app, truth, cell, at).await || integration)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut names: Vec<&String> = held.iter().map(|(n, _)| n).collect();
    names.dedup();
    for name in names {
        let mine: Vec<bool> = held.iter().filter(|(n, _)| n == name).map(|(_, h)| *h).collect();
        let rows = mine.iter().filter(|h| **h).count();
        assert!(rows * 3 > mine.len(), "{name}: {rows}/{} cells held rows", mine.len());
    }
    total
}

fn instants() -> Instants {
    let now = Utc::now();
    Instants { now, from: now - Duration::days(60), to: now - Duration::days(20) }
}

#[tokio::test]
async fn trusted_documents_by_id_keep_every_principals_scope_over_post_and_get() {
    let app = TestApp::spawn_configured(Backend::Postgres, 400, trusted).await;
    let at = instants();
    let askers = askers(&app).await;
    let filters = filter_cases(&single_filters(&app).await);
    // The worklist (officials: it selects the assignee) and the open-data page (everyone).
    let worklist = Operation {
        name: "Worklist",
        body: manifest_body("Worklist"),
        order: ("RESOLUTION_DUE_AT", "resolution_due_at", true),
        page: 50,
    };
    let open_data = Operation {
        name: "OpenDataComplaints",
        body: manifest_body("OpenDataComplaints"),
        order: ("RECEIVED_AT", "received_at", false),
        page: 50,
    };
    let mut cells = Vec::new();
    for asker in &askers {
        for filter in &filters {
            for method in [Method::Post, Method::Get] {
                if asker.kind != Kind::Public {
                    cells.push(Cell {
                        asker,
                        filter,
                        op: &worklist,
                        named: Named::DocumentId,
                        method,
                    });
                }
                cells.push(Cell {
                    asker,
                    filter,
                    op: &open_data,
                    named: Named::DocumentId,
                    method,
                });
            }
        }
    }
    let total = run(&app, &app.db, cells, at).await;
    println!(
        "trusted documents: {total} cells ({} principals × {} filters)",
        askers.len(),
        filters.len()
    );
}

/// The boundary matrix's page, as a client would register it.
fn pages() -> Operation {
    Operation {
        name: "Pages",
        body: "query Pages($filter: ComplaintFilter) {\n  complaints(filter: $filter, \
               orderBy: { field: NUMBER, direction: DESC }, first: 6) \
               { totalCount edges { node { id } } }\n}"
            .into(),
        order: ("NUMBER", "id", false),
        page: 6,
    }
}

#[tokio::test]
async fn a_document_persisted_by_an_operator_runs_in_each_principals_own_scope() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let at = instants();
    let op = pages();
    let (_, unknown) = send(&app, None, &op, Named::Hash, Method::Post, &json!({})).await;
    assert_eq!(error_code(&unknown), Some("PERSISTED_QUERY_NOT_FOUND"), "{unknown:#}");
    // The operator registers it with a filter of its own, reading the whole region.
    let register = json!({ "query": op.body, "variables": { "filter": {} },
                           "extensions": { "persistedQuery": { "version": 1, "sha256Hash": op.hash() } } });
    let resp = app.client.post(app.url("/graphql")).bearer_auth(&app.operator).json(&register);
    let registered: Value = resp.send().await.expect("register").json().await.expect("JSON");
    assert!(registered["data"]["complaints"]["totalCount"].as_i64() > Some(100), "{registered:#}");

    let askers = askers(&app).await;
    let filters = filter_cases(&single_filters(&app).await);
    let mut cells = Vec::new();
    for asker in &askers {
        for filter in &filters {
            for method in [Method::Post, Method::Get] {
                cells.push(Cell { asker, filter, op: &op, named: Named::Hash, method });
            }
        }
    }
    let total = run(&app, &app.db, cells, at).await;
    println!("persisted by hash: {total} cells");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_on_a_replica_keep_every_principals_scope() {
    let primary = PgCluster::start();
    // A lag bound far enough that the paused replica below stays in use.
    let (replica, app) = on_a_replica(&primary, 400, 300, 600_000).await;

    // The replica stops replaying and the primary moves on: answers that equal SQL on the
    // replica, and not on the primary, were read on the replica.
    let askers = askers(&app).await;
    let filters = filter_cases(&single_filters(&app).await);
    replica.psql("cur", "SELECT pg_wal_replay_pause()");
    let items: Vec<Value> = (0..40)
        .map(|i| {
            json!({ "source": "VK", "externalId": format!("replica-{i}"),
                    "municipalityId": (1 + i % 3).to_string(),
                    "text": format!("Яма на дороге по улице Ленина, дом {i}") })
        })
        .collect();
    let ingest = "mutation In($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created } }";
    let data = app.data(ingest, json!({ "items": items })).await;
    assert_eq!(data["ingestComplaints"]["created"], 40);
    let truth = TestDb::reader(&replica.url("cur")).await;
    let count = "SELECT COUNT(*) FROM complaint";
    let (on_primary, on_replica) =
        (app.db.sql_i64(count, vec![]).await, truth.sql_i64(count, vec![]).await);
    assert_eq!(on_primary - on_replica, 40, "the replica is behind by the new complaints");

    let op = pages();
    let mut cells = Vec::new();
    for asker in &askers {
        for filter in &filters {
            cells.push(Cell { asker, filter, op: &op, named: Named::Text, method: Method::Post });
        }
    }
    let total = run(&app, &truth, cells, instants()).await;
    assert_eq!(metric(&app, "cur_db_replica_in_use", &[]).await, 1.0, "still on the replica");
    replica.psql("cur", "SELECT pg_wal_replay_resume()");
    println!("replica reads: {total} cells");
}

/// `Complaint.deliveries`, the answers on their way back to sources: for every principal and
/// every filter, the operator's page carries exactly the deliveries SQL holds for its rows (in
/// the scope AND the filter, in order), and every other role is refused before anything runs.
#[tokio::test]
async fn deliveries_follow_the_matrix_for_every_principal_and_filter() {
    let app = TestApp::spawn(Backend::Postgres).await;
    // Deliveries of a third of the complaints, two for some.
    app.db
        .sql(
            "INSERT INTO delivery (complaint_id, target, dedup_key, body, state, attempts, \
             next_attempt_at, created_at) \
             SELECT id, t.target, t.target || ':' || id, '{\"event\":\"RESPONDED\"}', 'PENDING', 0, now(), now() \
             FROM complaint, (VALUES ('feed'), ('open311')) AS t(target) \
             WHERE id % 3 = 0 AND (t.target = 'feed' OR id % 2 = 0)",
            vec![],
        )
        .await;
    let held: Vec<(i64, String)> = app
        .db
        .sql("SELECT complaint_id, target FROM delivery ORDER BY id", vec![])
        .await
        .iter()
        .map(|r| (r.try_get_by_index(0).expect("id"), r.try_get_by_index(1).expect("target")))
        .collect();
    let query = "query($filter: ComplaintFilter) { complaints(filter: $filter, first: 100, \
        orderBy: {field: RECEIVED_AT, direction: ASC}) { nodes { id deliveries { target } } } }";
    let at = instants();
    let cases = filter_cases(&single_filters(&app).await);
    let mut cells = 0;
    for asker in askers(&app).await {
        for filter in &cases {
            let variables = json!({ "filter": with_instants(&filter.input, at) });
            let (status, body) = app.gql_as(asker.token.as_deref(), query, variables).await;
            cells += 1;
            let cell = format!("{} / {}", asker.name, filter.name);
            if asker.name != "operator" {
                assert_eq!(error_code(&body), Some("FORBIDDEN"), "{cell}: {body}");
                assert!(body["data"].is_null(), "{cell}: nothing runs: {body}");
                continue;
            }
            assert_eq!(status, 200, "{cell}: {body}");
            assert!(body["errors"].is_null(), "{cell}: {body}");
            let mut want =
                expected_ids(&app.db, &asker, filter, ("RECEIVED_AT", "received_at"), true, at)
                    .await;
            want.truncate(100);
            let nodes = body["data"]["complaints"]["nodes"].as_array().expect("nodes");
            let got: Vec<i64> =
                nodes.iter().map(|n| n["id"].as_str().unwrap().parse().unwrap()).collect();
            assert_eq!(got, want, "{cell}: the rows");
            for n in nodes {
                let id: i64 = n["id"].as_str().unwrap().parse().unwrap();
                let targets: Vec<&str> = n["deliveries"]
                    .as_array()
                    .expect("deliveries")
                    .iter()
                    .map(|d| d["target"].as_str().unwrap())
                    .collect();
                let expected: Vec<&str> =
                    held.iter().filter(|(c, _)| *c == id).map(|(_, t)| t.as_str()).collect();
                assert_eq!(targets, expected, "{cell}: complaint {id}");
            }
        }
    }
    assert!(cells >= 500, "{cells}");
}
