//! SIGTERM under load: readiness goes red first, every request the gateway accepted is
//! answered without error, WebSockets close with 1001, no audit record or write is lost, and
//! the process exits 0. And the JSON logs: request id, operation, role and `sub` on each
//! request's lines, never texts, authors or variables.
use crate::helpers::{Backend, TestApp, TestDb, mint};
use crate::load::{Load, Plan, Seen, assert_kept};
use crate::process::Process;
use crate::ws::connected;
use cur_gateway::{
    auth::Role,
    seed::{self, SeedOptions},
};
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "a-secret-of-the-shutdown-test";
const AUTHORS: &str =
    "query Authors { complaints(first: 5) { edges { node { id author { name phone } } } } }";

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
    let mut ws = connected(&app, Some(&app.operator.clone())).await;
    ws.subscribe("e", "subscription { complaintEvents { kind } }", json!({})).await;

    let running = Load::start(Plan {
        at: app.addr.to_string(),
        token: &app.operator,
        readers: 3,
        read: AUTHORS,
        tag: "sd",
        pause: Duration::ZERO,
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let signalled = Instant::now();
    process.terminate();
    // Readiness is off first, while requests are still answered.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(app.readiness().await.0, 503, "/readyz while draining");
    let (code, _) = ws.closed().await;
    assert_eq!(code, 1001, "WebSockets close with 1001");
    let status = tokio::task::block_in_place(|| process.wait(Duration::from_secs(15)));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit code");
    let (seen, acked) = running.finish().await;

    // Not accepted (the listener closed) only after the signal; every accepted request answered.
    let answers: Vec<&Seen> = seen.iter().filter(|s| s.status != 0).collect();
    for s in &seen {
        if s.status == 0 {
            assert!(s.started >= signalled, "a request failed before SIGTERM");
            continue;
        }
        assert_eq!(s.status, 200, "an accepted request got an error: {:#}", s.body);
        assert!(s.body["data"].is_object(), "an accepted request lost its answer: {:#}", s.body);
        assert!(s.body.get("errors").is_none(), "{:#}", s.body);
    }
    let during = answers.iter().filter(|s| s.started >= signalled).count();

    assert!(during > 0, "requests were answered while draining");
    // Every `author` the answers resolved is one audit record (an absent author too: the
    // record was read).
    let reads: u64 = answers
        .iter()
        .filter_map(|s| s.body["data"]["complaints"]["edges"].as_array())
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
    let url = app.db.config.database_url.clone().expect("a Postgres URL");
    assert_kept(&url, &acked).await;
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
