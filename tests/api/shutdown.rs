//! SIGTERM under load: readiness goes red first, every request the gateway accepted is
//! answered without error, WebSockets close with 1001, no audit record or write is lost, and
//! the process exits 0. And the JSON logs: request id, operation, role and `sub` on each
//! request's lines, never texts, authors or variables.
use crate::helpers::{Backend, TestApp, TestDb, mint};
use crate::process::Process;
use crate::ws::connected;
use cur_gateway::{
    auth::Role,
    seed::{self, SeedOptions},
};
use serde_json::{Value, json};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;

const SECRET: &str = "a-secret-of-the-shutdown-test";
const AUTHORS: &str =
    "query Authors { complaints(first: 5) { edges { node { id author { name phone } } } } }";
const INGEST: &str =
    "mutation In($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created } }";

/// A seeded database and a gateway process over it, with a client view of both.
async fn gateway(extra: &[(&str, String)]) -> (Process, TestApp) {
    let mut db = TestDb::new(Backend::Postgres).await;
    let opts = SeedOptions { complaints: 60, seed: 7, staff: 50, progress: false };
    seed::run(&db.db, &opts).await.expect("seed");
    let url = db.config.database_url.clone().expect("a Postgres URL");
    let mut env = vec![
        ("DATABASE_URL", url),
        ("CUR_JWT_SECRET", SECRET.to_owned()),
        ("CUR_DEV", "false".to_owned()),
        ("CUR_DEADLINE_WATCH_SECS", "0".to_owned()),
        ("CUR_CACHE_OPERATIONS", "false".to_owned()),
        ("CUR_RATE_LIMIT_OPERATOR", "0".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    let process = Process::serve(&env);
    db.config.auth.jwt_secret = Some(SECRET.to_owned());
    db.config.dev = Some(false);
    let operator = mint(&db.config, Role::Operator, None, None);
    let gateway_db = db.db.clone();
    let app =
        TestApp { addr: process.addr, client: reqwest::Client::new(), db, gateway_db, operator };
    (process, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_accepted_request_and_loses_no_audit_record() {
    let (mut process, app) = gateway(&[("CUR_SHUTDOWN_DRAIN_MS", "700".to_owned())]).await;
    let app = Arc::new(app);
    let mut ws = connected(&app, Some(&app.operator.clone())).await;
    ws.subscribe("e", "subscription { complaintEvents { kind } }", json!({})).await;

    let terminated = Arc::new(AtomicBool::new(false));
    let answers: Arc<Mutex<Vec<(bool, u16, Value)>>> = Arc::default();
    let acked_writes: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for worker in 0..4 {
        let (app, terminated, answers, acked) =
            (app.clone(), terminated.clone(), answers.clone(), acked_writes.clone());
        clients.push(tokio::spawn(async move {
            // A client of its own: a closed connection is this worker's only.
            let client = reqwest::Client::new();
            for n in 0.. {
                let after = terminated.load(Ordering::Relaxed);
                let writing = worker == 0;
                let body = if writing {
                    let item = json!([{ "source": "EMAIL", "externalId": format!("sd-{n}"),
                                        "municipalityId": "1", "text": "Не горит фонарь" }]);
                    json!({ "query": INGEST, "variables": { "items": item } })
                } else {
                    json!({ "query": AUTHORS })
                };
                let sent = client
                    .post(app.url("/graphql"))
                    .bearer_auth(&app.operator)
                    .json(&body)
                    .send()
                    .await;
                let Ok(resp) = sent else {
                    // Not accepted: the listener is closed (or closed this idle connection).
                    if after {
                        return;
                    }
                    panic!("a request failed before SIGTERM");
                };
                let status = resp.status().as_u16();
                let json: Value = resp.json().await.unwrap_or(Value::Null);
                if writing && status == 200 && json["data"]["ingestComplaints"]["created"] == 1 {
                    acked.lock().expect("lock").push(format!("sd-{n}"));
                }
                answers.lock().expect("lock").push((after, status, json));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    process.terminate();
    terminated.store(true, Ordering::Relaxed);
    // Readiness is off first, while requests are still answered.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let ready = app.client.get(app.url("/readyz")).send().await.expect("readyz while draining");
    assert_eq!(ready.status().as_u16(), 503);
    let (code, _) = ws.closed().await;
    assert_eq!(code, 1001, "WebSockets close with 1001");
    for c in clients {
        c.await.expect("a load client");
    }
    let status = tokio::task::block_in_place(|| process.wait(Duration::from_secs(15)));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit code");

    let answers = answers.lock().expect("lock").clone();
    for (_, status, body) in &answers {
        assert_eq!(*status, 200, "an accepted request got an error: {body:#}");
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let during = answers.iter().filter(|(after, ..)| *after).count();

    assert!(during > 0, "requests were answered while draining");
    // Every `author` the answers resolved is one audit record (an absent author too: the
    // record was read).
    let reads: u64 = answers
        .iter()
        .filter_map(|(_, _, b)| b["data"]["complaints"]["edges"].as_array())
        .map(|edges| edges.len() as u64)
        .sum();
    let audited = app
        .db
        .sql_i64("SELECT count(*) FROM audit_record WHERE operation = 'Authors'", vec![])
        .await as u64;
    assert!(reads > 0);
    eprintln!(
        "SIGTERM: {} answers ({during} after the signal), all 200; {reads} author reads answered, \
         {audited} audit records",
        answers.len()
    );
    // Every author an answer carried was audited, and nothing the clients did not receive.
    assert_eq!(audited, reads, "audit records against author reads answered");
    let acked = acked_writes.lock().expect("lock").clone();
    assert!(!acked.is_empty());
    for external in &acked {
        let n = app
            .db
            .sql_i64(
                "SELECT count(*) FROM complaint WHERE external_id = $1",
                vec![external.clone().into()],
            )
            .await;
        assert_eq!(n, 1, "acknowledged write {external}");
    }
    let logs = process.json_logs();
    assert!(logs.iter().any(|l| l["message"] == "cur-gateway stopped"), "{logs:#?}");
}

#[tokio::test]
async fn json_logs_name_the_request_operation_role_and_subject_and_no_personal_data() {
    let (process, app) = gateway(&[]).await;
    let (status, body) =
        app.gql_as(Some(&app.operator), AUTHORS, json!({ "unused": "Секретная переменная" })).await;
    assert_eq!(status, 200, "{body:#}");
    let name = body["data"]["complaints"]["edges"][0]["node"]["author"]["name"]
        .as_str()
        .expect("an author")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = process.json_logs();
    // The line each answered request logs, for the POST above.
    let answered = logs
        .iter()
        .find(|l| {
            l["message"] == "finished processing request"
                && l["span"]["path"] == "/graphql"
                && l["span"]["method"] == "POST"
        })
        .unwrap_or_else(|| panic!("a request line: {logs:#?}"));
    let span = &answered["span"];
    assert_eq!(span["operation"], "Authors", "{answered:#}");
    assert_eq!(span["role"], "operator");
    assert_eq!(span["sub"], "test-operator");
    assert!(span["request_id"].as_str().is_some_and(|id| id.len() >= 32), "{answered:#}");
    let text = process.logs.lock().expect("lock").join("\n");
    for secret in [name.as_str(), "Секретная переменная", "complaints(first"] {
        assert!(!text.contains(secret), "the logs hold {secret:?}");
    }
}
