//! The read cache: per-scope keys, freshness after writes on every replica (Redis), identical
//! cached and uncached answers, and reads that survive a Redis outage.
use crate::helpers::{BOTH, Backend, TestApp};
use crate::kpis::{KPIS, check};
use chrono::{Duration, Utc};
use cur_gateway::{auth::Role, ratelimit::Budgets};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};

fn window() -> Value {
    let to = Utc::now() + Duration::hours(1);
    json!({ "from": to - Duration::days(366), "to": to })
}

async fn metric(app: &TestApp, name: &str) -> u64 {
    crate::helpers::metric(app, name, &[]).await as u64
}

const ONE: &str = "mutation($e: String!) { ingestComplaints(input: [{ source: EMAIL, externalId: $e, text: \"В поликлинике нет талонов\", municipalityId: \"1\" }]) { created } }";

/// The health and social ministries: (department id, token) of each.
async fn two_ministries(app: &TestApp) -> (i64, String, i64, String) {
    let id = |code: &'static str| {
        app.db.sql_i64("SELECT id FROM department WHERE code = $1", vec![code.into()])
    };
    let (health, social) = (id("health").await, id("social").await);
    let token = |d: i64| app.token(Role::Ministry, Some(d as i32), None);
    (health, token(health), social, token(social))
}

#[tokio::test]
async fn ministries_get_their_own_cached_answers_fresh_after_every_write() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let (to, from) = (Utc::now() + Duration::hours(1), Utc::now() - Duration::days(366));
        let (health, a, social, b) = two_ministries(&app).await;
        // The same query by two ministries: each its own department, each correct.
        let first_a =
            check(&app, Some(&a), from, to, "DEPARTMENT", |r| r.department == Some(health)).await;
        let first_b =
            check(&app, Some(&b), from, to, "DEPARTMENT", |r| r.department == Some(social)).await;
        assert_ne!(first_a[0]["key"], first_b[0]["key"], "{backend:?}");
        // Asked again: from the cache, no SQL, the same answer.
        let (hits, statements) = (metric(&app, "cur_cache_hits_total").await, app.statements());
        let vars = json!({ "f": { "from": from, "to": to }, "g": "DEPARTMENT" });
        let again = app.data_as(Some(&a), KPIS, vars.clone()).await;
        assert_eq!(again["kpis"].as_array().expect("rows"), &first_a, "cached = uncached");
        assert_eq!(metric(&app, "cur_cache_hits_total").await, hits + 1);
        assert_eq!(app.statements(), statements, "{backend:?}: a hit runs no SQL");
        // A write: the next read is fresh (the new complaint is routed to health).
        app.data(ONE, json!({ "e": "cache-1" })).await;
        let fresh =
            check(&app, Some(&a), from, to, "DEPARTMENT", |r| r.department == Some(health)).await;
        assert_eq!(
            fresh[0]["received"].as_u64(),
            first_a[0]["received"].as_u64().map(|n| n + 1),
            "{backend:?}"
        );
    }
}

/// Two gateways on one database and one Redis (a test-private key prefix).
pub(crate) async fn pair(redis: &str) -> (TestApp, TestApp) {
    let prefix =
        format!("test:{}:{}:", std::process::id(), Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let one = TestApp::spawn_configured(Backend::Postgres, 200, |c| {
        c.redis_url = Some(redis.to_owned());
        c.cache_prefix = prefix.clone();
    })
    .await;
    let two = one.another().await;
    (one, two)
}

#[tokio::test]
async fn a_write_through_one_replica_is_seen_by_the_next_read_through_another() {
    let (one, two) = pair("redis://127.0.0.1:6379").await;
    let vars = json!({ "f": window(), "g": "SOURCE" });
    let before = two.data(KPIS, vars.clone()).await;
    let cached = two.data(KPIS, vars.clone()).await;
    assert_eq!(before, cached);
    assert!(metric(&two, "cur_cache_hits_total").await >= 1);
    one.data(ONE, json!({ "e": "replica-1" })).await;
    let after = two.data(KPIS, vars).await;
    let total =
        |v: &Value| v["kpis"].as_array().and_then(|r| r.last()).map(|t| t["received"].as_u64());
    assert_eq!(
        total(&after),
        total(&before).map(|n| n.map(|n| n + 1)),
        "fresh on the other replica"
    );
}

/// A redis-server of the test's own on a spare port.
pub(crate) fn redis_on(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server) must be installed");
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

async fn readyz(app: &TestApp) -> Value {
    app.readiness().await.1
}

#[tokio::test]
async fn reads_survive_a_redis_outage_and_use_redis_again_when_it_returns() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("spare port");
        l.local_addr().expect("addr").port()
    };
    let mut redis = redis_on(port);
    let app = TestApp::spawn_configured(Backend::Postgres, 200, |c| {
        c.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        c.cache_timeout_ms = 200;
    })
    .await;
    let vars = json!({ "f": window(), "g": "CATEGORY" });
    let truth = app.data(KPIS, vars.clone()).await;
    assert_eq!(app.data(KPIS, vars.clone()).await, truth);
    assert_eq!(readyz(&app).await["redis"], "ok");
    let hits = metric(&app, "cur_cache_hits_total").await;
    assert!(hits >= 1);

    redis.kill().expect("stop redis");
    redis.wait().expect("redis stopped");
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(app.data(KPIS, vars.clone()).await, truth, "answered from the database");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "within the request timeout");
    let ready = readyz(&app).await;
    assert_eq!((ready["redis"].clone(), ready["db"].clone()), (json!("degraded"), json!("ok")));
    assert!(metric(&app, "cur_cache_errors_total").await > 0);
    // Writes go through too (the generation bump fails; the TTL is the backstop).
    assert_eq!(app.data(ONE, json!({ "e": "outage-1" })).await["ingestComplaints"]["created"], 1);

    let mut redis = redis_on(port);
    let mut back = false;
    for _ in 0..50 {
        if readyz(&app).await["redis"] == "ok" {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "the gateway uses Redis again without a restart");
    let fresh = app.data(KPIS, vars.clone()).await;
    let total =
        |v: &Value| v["kpis"].as_array().and_then(|r| r.last()).map(|t| t["received"].clone());
    assert_eq!(
        total(&fresh).and_then(|v| v.as_u64()),
        total(&truth).and_then(|v| v.as_u64()).map(|n| n + 1)
    );
    let hits_before = metric(&app, "cur_cache_hits_total").await;
    assert_eq!(app.data(KPIS, vars).await, fresh);
    assert_eq!(metric(&app, "cur_cache_hits_total").await, hits_before + 1, "cached again");
    redis.kill().ok();
    redis.wait().ok();
}

/// A Redis that accepts connections and never answers (a blackholed server): counts the
/// connections and the writes it was sent.
async fn silent_redis() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    (port, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_does_not_answer_is_not_asked_by_every_request() {
    let (port, asked) = silent_redis().await;
    let app = TestApp::spawn_configured(Backend::Sqlite, 50, |c| {
        c.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        c.cache_timeout_ms = 100;
        // A budget, so the limiter asks Redis too.
        let budgets = Budgets { operator: 1_000_000, ..Budgets::unlimited() };
        c.rate_limits.set_budgets(budgets);
    })
    .await;
    let requests = 60;
    let started = std::time::Instant::now();
    for n in 0..requests {
        let (status, body) = app
            .gql_as(Some(&app.operator), "{ complaints(first: 2) { totalCount } }", json!({}))
            .await;
        assert_eq!(status, 200, "request {n}: {body:#}");
        assert!(body.get("errors").is_none(), "answered from the database: {body:#}");
    }
    let took = started.elapsed();
    let asked = asked.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("silent redis: {requests} requests in {took:?}, Redis asked {asked} times");
    // The limiter, the cache's generation and the cache's read each waited out a timeout on
    // every request; now each asks again once a second at most.
    let seconds = took.as_secs() as usize + 1;
    assert!(asked <= 6 * seconds, "Redis asked {asked} times in {seconds} s");
}

#[tokio::test]
async fn a_cold_key_under_concurrent_load_is_computed_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let vars = json!({ "f": window(), "g": "MUNICIPALITY" });
    // Warm everything but this key (directory snapshot, pools).
    app.data(KPIS, json!({ "f": window(), "g": "DAY" })).await;
    let (misses, statements) = (metric(&app, "cur_cache_misses_total").await, app.statements());
    let answers =
        futures_util::future::join_all((0..20).map(|_| app.data(KPIS, vars.clone()))).await;
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "one answer for all");
    // One computation of the operation, which computed the KPIs once.
    assert_eq!(metric(&app, "cur_cache_misses_total").await, misses + 2, "computed once");
    assert_eq!(app.statements() - statements, 1, "one rollup query for twenty readers");
}

#[tokio::test]
async fn a_routing_rule_set_through_one_replica_routes_the_next_ingest_through_another() {
    let (one, two) = pair("redis://127.0.0.1:6379").await;
    let ingest = "mutation($e: String!) { ingestComplaints(input: [{ source: EMAIL, externalId: $e, text: \"Закрыли поликлинику в посёлке\", municipalityId: \"3\" }]) { items { complaint { department { id } } } } }";
    let department =
        |v: &Value| v["ingestComplaints"]["items"][0]["complaint"]["department"]["id"].clone();
    // The second replica reads (and keeps) its routing context before the rule changes.
    let before = department(&two.data(ingest, json!({ "e": "route-1" })).await);
    let admin = one
        .db
        .sql_i64(
            "SELECT id FROM department WHERE kind = 'municipal' AND municipality_id = 3",
            vec![],
        )
        .await;
    assert_ne!(before, json!(admin.to_string()));
    let set = "mutation($d: ID!) { setRoutingRule(category: HEALTHCARE, municipalityId: \"3\", departmentId: $d) { id } }";
    let rule =
        one.data(set, json!({ "d": admin.to_string() })).await["setRoutingRule"]["id"].clone();
    let after = department(&two.data(ingest, json!({ "e": "route-2" })).await);
    assert_eq!(after, json!(admin.to_string()), "the other replica routes by the new rule");
    one.data("mutation($id: ID!) { deleteRoutingRule(id: $id) }", json!({ "id": rule })).await;
    let back = department(&two.data(ingest, json!({ "e": "route-3" })).await);
    assert_eq!(back, before, "and by the region-wide rule once it is deleted");
}

const PAGE: &str = "query($m: ID) { complaints(first: 20, filter: { municipalityId: $m }) { totalCount edges { node { id number status department { id } } } } }";

#[tokio::test]
async fn whole_read_operations_are_cached_per_scope_and_never_with_personal_data() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let (health, a, social, b) = two_ministries(&app).await;
        let vars = json!({ "m": null });
        let first = app.data_as(Some(&a), PAGE, vars.clone()).await;
        // Asked again by the same scope: the stored answer, no SQL, the same bytes' worth.
        let (hits, statements) = (metric(&app, "cur_cache_hits_total").await, app.statements());
        let again = app.data_as(Some(&a), PAGE, vars.clone()).await;
        assert_eq!(again, first, "{backend:?}: cached = computed");
        assert_eq!(metric(&app, "cur_cache_hits_total").await, hits + 1);
        assert_eq!(app.statements(), statements, "{backend:?}: a hit runs no SQL");
        // The same text through the uncached path (a batch of one) answers the same.
        let batch = json!([{ "query": PAGE, "variables": vars }]);
        let resp = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&a)
            .json(&batch)
            .send()
            .await
            .expect("batch")
            .json::<Value>()
            .await
            .expect("json");
        assert_eq!(resp[0]["data"], first, "{backend:?}: uncached = cached");
        // Another ministry: its own rows, not the first one's answer.
        let other = app.data_as(Some(&b), PAGE, vars.clone()).await;
        assert_ne!(other, first);
        let count = |sql: &str, d: i64| {
            let db = &app.db;
            let sql = sql.to_owned();
            async move { db.sql_i64(&sql, vec![d.into()]).await }
        };
        let ever = "SELECT COUNT(DISTINCT complaint_id) FROM assignment WHERE department_id = $1";
        assert_eq!(other["complaints"]["totalCount"].as_i64(), Some(count(ever, social).await));
        assert_eq!(first["complaints"]["totalCount"].as_i64(), Some(count(ever, health).await));
        // A write through the gateway: the next read is fresh.
        let total = app.data(PAGE, vars.clone()).await["complaints"]["totalCount"].as_i64();
        app.data(ONE, json!({ "e": "op-cache-1" })).await;
        let after = app.data(PAGE, vars.clone()).await["complaints"]["totalCount"].as_i64();
        assert_eq!(after, total.map(|n| n + 1), "{backend:?}: fresh after a write");
        // Authors are never served from the cache: each read runs and is audited.
        let with_author = "{ complaints(first: 3) { edges { node { id author { name } } } } }";
        let audited = || app.db.sql_i64("SELECT COUNT(*) FROM audit_record", vec![]);
        let before = audited().await;
        app.data(with_author, json!({})).await;
        let statements = app.statements();
        app.data(with_author, json!({})).await;
        assert!(app.statements() > statements, "{backend:?}: ran again");
        assert_eq!(audited().await, before + 6, "{backend:?}: both reads audited");
    }
}
