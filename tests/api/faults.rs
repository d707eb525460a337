//! Database faults: a Postgres restart under live traffic (clients see 503 UNAVAILABLE fast,
//! never INTERNAL or a wrong answer; acknowledged writes survive; the gateway, its readiness
//! and its subscriptions recover by themselves), a statement that runs past its time limit,
//! `serve` against a database it cannot reach, and a server slow to open its first connection.
use crate::cluster::{PgCluster, spare_port};
use crate::helpers::{Backend, TestApp, TestDb, error_code, pg_root};
use crate::load::{Load, Plan, assert_kept};
use crate::ws::connected;
use cur_gateway::store::Db;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ONE: &str = r#"query One { complaint(id: "1") { id text status } }"#;
const INGEST: &str = "mutation In($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created duplicates } }";
const EVENTS: &str = "subscription { complaintEvents { kind complaint { externalId } } }";

fn ingest_item(external: &str) -> Value {
    json!([{ "source": "EMAIL", "externalId": external, "municipalityId": "1",
             "text": "Не вывозят мусор во дворе дома 5" }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_is_unavailable_then_recovers_with_no_write_lost() {
    let cluster = PgCluster::start();
    let mut db = cluster.seeded(120, 100).await;
    // Every read reaches the database (no operation cache), and a wait for a connection is
    // short, as in production where it is kept below the request timeout.
    db.config.cache_operations = false;
    db.config.db_acquire_timeout_ms = 1_000;
    db.config.live.poll_ms = 200;
    let app = TestApp::serve(db).await;
    let baseline = app.gql(ONE, json!({})).await;
    assert!(baseline.get("errors").is_none(), "{baseline:#}");

    let mut ws = connected(&app, Some(&app.operator.clone())).await;
    ws.subscribe("e", EVENTS, json!({})).await;

    let running = Load::start(Plan {
        at: app.addr.to_string(),
        token: &app.operator,
        readers: 2,
        read: ONE,
        tag: "fault",
        pause: Duration::from_millis(20),
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let down = {
        let c = &cluster;
        let started = Instant::now();
        tokio::task::block_in_place(|| c.stop());
        started
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.readiness().await.0, 503, "/readyz while Postgres is down");
    let back = Instant::now();
    tokio::task::block_in_place(|| cluster.start_again());
    let recovered = loop {
        let resp = app.gql(ONE, json!({})).await;
        if resp == baseline {
            break Instant::now();
        }
        assert!(back.elapsed() < Duration::from_secs(15), "no recovery: {resp:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (seen, acked) = running.finish().await;
    assert_eq!(app.readiness().await.0, 200, "/readyz after the restart");

    let mut unavailable = 0;
    for s in &seen {
        let ok = s.status == 200 && s.body.get("errors").is_none();
        if ok {
            if s.body["data"].get("complaint").is_some() {
                assert_eq!(s.body, baseline, "a read answered differently");
            }
            continue;
        }
        assert_eq!(
            (s.status, error_code(&s.body)),
            (503, Some("UNAVAILABLE")),
            "every failure is 503 UNAVAILABLE: {:#}",
            s.body
        );
        assert!(s.body.get("data").is_none(), "no partial data with an outage: {:#}", s.body);
        unavailable += 1;
        // Once the outage is known, requests fail at once rather than waiting for a
        // connection.
        if s.started > down + Duration::from_millis(1_500) && s.started < back {
            assert!(s.took < Duration::from_millis(300), "a slow refusal: {:?}", s.took);
        }
    }
    let during = seen.iter().filter(|s| s.started > down && s.started < back).count();
    let known_down = seen.iter().filter(|s| {
        s.status == 503 && s.started > down + Duration::from_millis(1_500) && s.started < back
    });
    let slowest = known_down.map(|s| s.took).max().unwrap_or_default();
    // The figures of the note on the issue (`--no-capture`).
    eprintln!(
        "postgres restart: {} answers, {during} while down, {unavailable} x 503 UNAVAILABLE \
         (slowest once known down {slowest:?}), recovered {:?} after the restart began",
        seen.len(),
        recovered - back
    );
    assert!(unavailable > 10 && during > 10, "the outage was seen: {unavailable} of {during}");
    let after = seen.iter().filter(|s| s.started > recovered).count();
    assert!(after > 10, "traffic after the recovery: {after}");
    assert!(recovered - back < Duration::from_secs(10), "recovered in {:?}", recovered - back);

    // No acknowledged write is lost.
    assert!(acked.len() > 5, "writes were acknowledged: {}", acked.len());
    assert_kept(&cluster.url("cur"), &acked).await;

    // The subscription paused with the database and goes on: a write after the restart
    // reaches it (earlier events may come first).
    let (status, body) = app
        .gql_as(Some(&app.operator), INGEST, json!({ "items": ingest_item("after-restart") }))
        .await;
    assert_eq!(status, 200, "{body:#}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let msg = ws
            .next_within(deadline.saturating_duration_since(Instant::now()))
            .await
            .expect("the event of a write after the restart");
        let external = &msg["payload"]["data"]["complaintEvents"]["complaint"]["externalId"];
        if external == "after-restart" {
            break;
        }
    }
}

#[tokio::test]
async fn a_statement_past_its_time_limit_is_a_timeout_and_frees_its_connection() {
    let app = TestApp::spawn_configured(Backend::Postgres, 20, |c| {
        c.cache_operations = false;
        c.db_statement_timeout_ms = 300;
    })
    .await;
    // Another session holds a lock the gateway's read must wait for.
    let tx = app.db.db.write().begin().await.expect("begin");
    tx.execute_unprepared("LOCK TABLE complaint IN ACCESS EXCLUSIVE MODE").await.expect("lock");
    let started = Instant::now();
    let resp = app.gql(ONE, json!({})).await;
    assert_eq!(error_code(&resp), Some("TIMEOUT"), "{resp:#}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    tx.rollback().await.expect("rollback");
    // The pool's connections are free again: many reads in a row succeed.
    for _ in 0..10 {
        let resp = app.gql(ONE, json!({})).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
    }
}

#[test]
fn serve_names_the_database_address_it_cannot_reach() {
    let port = spare_port();
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cur-gateway"))
        .arg("serve")
        .env("DATABASE_URL", format!("postgres://cur:secret@127.0.0.1:{port}/cur"))
        .env("CUR_LISTEN", "127.0.0.1:0")
        .env("CUR_JWT_SECRET", "a-test-secret")
        .output()
        .expect("run cur-gateway");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot reach the database at 127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("secret@"), "the password is not shown: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
}

/// A TCP relay to the test Postgres that holds each of its first `slow` connections for
/// `hold` before passing it on (a server too loaded to open a connection at once).
async fn slow_to_open(slow: usize, hold: Duration) -> std::net::SocketAddr {
    let root = pg_root();
    let server = root.rsplit('@').next().expect("host:port").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let server = server.clone();
            tokio::spawn(async move {
                if n < slow {
                    tokio::time::sleep(hold).await;
                }
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(&server).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn startup_waits_for_a_first_connection_longer_than_a_request_would() {
    // A zero request timeout keeps a request's wait for a connection at its floor, 100 ms;
    // the first three connections the server is asked for take 400 ms each to open.
    let mut db = TestDb::new(Backend::Postgres).await;
    db.config.request_timeout_secs = 0;
    assert_eq!(db.config.db_acquire_timeout(), Duration::from_millis(100));
    let relay = slow_to_open(3, Duration::from_millis(400)).await;
    let url = db.config.database_url.clone().expect("a Postgres test database");
    let name = url.rsplit('/').next().expect("database name");
    let mut config = db.config.clone();
    config.database_url = Some(format!("postgres://postgres@{relay}/{name}"));
    let started = Instant::now();
    let opened = Db::connect(&config).await.expect("startup waits for its first connection");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // The connection goes back to the pool in a task of its own; a query before that would
    // open a second one within a request's 100 ms.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let row = opened
        .read()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_database()::text AS name",
        ))
        .await
        .expect("query")
        .expect("a row");
    assert_eq!(row.try_get::<String>("", "name").expect("name"), name);
}

#[tokio::test]
async fn an_exhausted_pool_is_an_overload_not_an_outage() {
    // Two connections, a short wait for one, no statement limit: two reads stuck behind a
    // lock hold the whole pool.
    let app = TestApp::spawn_configured(Backend::Postgres, 20, |c| {
        c.cache_operations = false;
        c.db_pool_size = 2;
        c.db_acquire_timeout_ms = 300;
        c.db_statement_timeout_ms = 0;
    })
    .await;
    let tx = app.db.db.write().begin().await.expect("begin");
    tx.execute_unprepared("LOCK TABLE complaint IN ACCESS EXCLUSIVE MODE").await.expect("lock");
    let stuck: Vec<_> = (0..2)
        .map(|_| {
            let (client, url, token) =
                (app.client.clone(), app.url("/graphql"), app.operator.clone());
            tokio::spawn(async move {
                let body = json!({ "query": ONE, "variables": {} });
                let resp = client.post(url).bearer_auth(token).json(&body);
                resp.send().await.expect("send").json::<Value>().await.expect("json")
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = app.gql(ONE, json!({})).await;
    assert_eq!(error_code(&resp), Some("UNAVAILABLE"), "{resp:#}");
    assert!(
        resp["errors"][0]["message"].as_str().unwrap_or("").contains("at capacity"),
        "an overload says so: {resp:#}"
    );
    // The health watcher pinged on its own connection: the database is up, /readyz too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!app.gateway_db.health().is_down(), "a busy pool was taken for an outage");
    assert_eq!(app.readiness().await.0, 200, "/readyz while the pool is busy");
    tx.rollback().await.expect("rollback");
    for task in stuck {
        let resp = task.await.expect("stuck read");
        assert!(resp.get("errors").is_none(), "the queued reads finish: {resp:#}");
    }
    let resp = app.gql(ONE, json!({})).await;
    assert!(resp.get("errors").is_none(), "{resp:#}");
}
