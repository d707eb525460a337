//! Request budgets: 429 with `Retry-After` and the RateLimit headers once a subject's budget
//! is spent (and nothing runs), shared by replicas through Redis, counted per replica when
//! Redis is down (never unlimited), expensive operations costing more, anonymous clients
//! counted by address (behind trusted proxies only by `X-Forwarded-For`), and subscriptions
//! spending from the same budget.
use crate::cluster::spare_port;
use crate::helpers::{Backend, TestApp, error_code};
use crate::ws::connected;
use chrono::Utc;
use cur_gateway::{Config, auth::Role, ratelimit::Budgets};
use serde_json::{Value, json};

const CHEAP: &str = "{ complaints(first: 1) { totalCount } }";
const COUNT_ROWS: &str = "SELECT count(*) FROM complaint";

/// Status, the RateLimit headers, Retry-After, and the body of one POST.
struct Answered {
    status: u16,
    policy: Option<String>,
    state: Option<String>,
    retry_after: Option<u64>,
    body: Value,
}

async fn post(app: &TestApp, token: Option<&str>, forwarded: Option<&str>, q: &str) -> Answered {
    let mut req = app.client.post(app.url("/graphql")).json(&json!({ "query": q }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.expect("request");
    let header =
        |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (policy, state) = (header("ratelimit-policy"), header("ratelimit"));
    let retry_after = header("retry-after").and_then(|v| v.parse().ok());
    let status = resp.status().as_u16();
    Answered { status, policy, state, retry_after, body: resp.json().await.expect("JSON") }
}

/// `r` of a RateLimit header value.
fn remaining(state: &Option<String>) -> u32 {
    let state = state.as_deref().expect("a RateLimit header");
    let r = state.split(';').find_map(|p| p.strip_prefix("r=")).expect("r=");
    r.parse().expect("a number")
}

fn budgets(operator: u32, public: u32) -> Budgets {
    Budgets { operator, public, ..Budgets::unlimited() }
}

fn unique_prefix() -> String {
    format!("test-rl:{}:{}:", std::process::id(), Utc::now().timestamp_nanos_opt().unwrap_or(0))
}

fn with(budgets: Budgets, redis: Option<String>) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.rate_limits.set_budgets(budgets);
        c.cache_operations = false;
        c.cache_prefix = unique_prefix();
        c.redis_url = redis;
    }
}

/// Spends a budget of 5 and checks the refusal; the same whichever store counts.
async fn spend_and_refuse(app: &TestApp) {
    for left in (0..5).rev() {
        let a = post(app, Some(&app.operator), None, CHEAP).await;
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.policy.as_deref(), Some(r#""operator";q=5;w=60"#));
        assert_eq!(remaining(&a.state), left, "{:?}", a.state);
        assert_eq!(a.retry_after, None);
    }
    let statements = app.statements();
    let refused = post(app, Some(&app.operator), None, CHEAP).await;
    assert_eq!(refused.status, 429, "{:#}", refused.body);
    assert_eq!(error_code(&refused.body), Some("RATE_LIMITED"));
    assert!(refused.body.get("data").is_none(), "nothing ran: {:#}", refused.body);
    let wait = refused.retry_after.expect("Retry-After");
    // One request of a budget of 5 a minute comes back every 12 s.
    assert!((1..=12).contains(&wait), "Retry-After {wait}");
    assert_eq!(refused.body["errors"][0]["extensions"]["retryAfter"], wait);
    assert_eq!(remaining(&refused.state), 0);
    assert_eq!(app.statements(), statements, "a refused request runs no SQL");
}

#[tokio::test]
async fn a_spent_budget_is_429_with_retry_after_and_ratelimit_headers_in_memory_and_in_redis() {
    let memory = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(5, 0), None)).await;
    spend_and_refuse(&memory).await;
    let redis = Some("redis://127.0.0.1:6379".to_owned());
    let shared = TestApp::spawn_configured(Backend::Postgres, 10, with(budgets(5, 0), redis)).await;
    spend_and_refuse(&shared).await;
    // Unlimited roles carry no headers.
    let governor = memory.token(Role::Governor, None, None);
    let a = post(&memory, Some(&governor), None, CHEAP).await;
    assert_eq!((a.status, a.policy, a.state), (200, None, None));
}

#[tokio::test]
async fn a_caller_over_its_budget_registers_no_persisted_document() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(0, 2), None)).await;
    for _ in 0..2 {
        assert_eq!(post(&app, None, None, CHEAP).await.status, 200);
    }
    let doc = "query Towns { municipalities { id } }";
    let pq =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": cur_gateway::sha256_hex(doc) } });
    let send = |token: Option<String>, body: Value| {
        let mut req = app.client.post(app.url("/graphql")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.expect("request");
            (resp.status().as_u16(), resp.json::<Value>().await.expect("JSON"))
        }
    };
    let (status, body) = send(None, json!({ "query": doc, "extensions": pq })).await;
    assert_eq!((status, error_code(&body)), (429, Some("RATE_LIMITED")), "{body:#}");
    // Refused before the document was looked at: nobody finds it under its hash.
    let (_, body) = send(Some(app.operator.clone()), json!({ "extensions": pq })).await;
    assert_eq!(error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"), "{body:#}");
}

#[tokio::test]
async fn replicas_share_one_budget_through_redis() {
    let redis = Some("redis://127.0.0.1:6379".to_owned());
    let one = TestApp::spawn_configured(Backend::Postgres, 10, with(budgets(6, 0), redis)).await;
    let two = one.another().await;
    for app in [&one, &two, &one, &two, &one, &two] {
        let a = post(app, Some(&one.operator), None, CHEAP).await;
        assert_eq!(a.status, 200, "{:#}", a.body);
    }
    for app in [&one, &two] {
        let a = post(app, Some(&one.operator), None, CHEAP).await;
        assert_eq!(a.status, 429, "the shared budget is spent on every replica");
    }
}

#[tokio::test]
async fn with_redis_down_each_replica_counts_on_its_own_never_unlimited() {
    let dead = Some(format!("redis://127.0.0.1:{}", spare_port()));
    let one = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(3, 0), dead)).await;
    let two = one.another().await;
    for app in [&one, &two] {
        for _ in 0..3 {
            let a = post(app, Some(&one.operator), None, CHEAP).await;
            assert_eq!(a.status, 200, "served while Redis is down: {:#}", a.body);
        }
        let a = post(app, Some(&one.operator), None, CHEAP).await;
        assert_eq!(a.status, 429, "the replica's own budget still holds");
    }
    let rows = one.db.sql_i64(COUNT_ROWS, vec![]).await;
    assert!(rows > 0);
}

#[tokio::test]
async fn an_expensive_operation_costs_more_than_a_cheap_one() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(100, 0), None)).await;
    let cheap = post(&app, Some(&app.operator), None, CHEAP).await;
    assert_eq!(remaining(&cheap.state), 99);
    // 100 rows × their fields and histories: the guard estimates well over 2,000.
    let wide = "{ complaints(first: 100) { edges { node { id text status category receivedAt
        history { at from to actor } responses { at text isPublic } } } } }";
    let a = post(&app, Some(&app.operator), None, wide).await;
    assert_eq!(a.status, 200, "{:#}", a.body);
    let spent = 99 - remaining(&a.state);
    assert!(spent > 1, "an expensive operation cost {spent}");
    // A refused document still costs one request (parsing it was work).
    let a = post(&app, Some(&app.operator), None, "{ nope").await;
    assert_eq!(remaining(&a.state), 99 - spent - 1);
}

#[tokio::test]
async fn anonymous_clients_are_counted_by_address_and_forwarded_for_only_from_trusted_proxies() {
    let configure = |c: &mut Config| {
        with(budgets(0, 2), None)(c);
        c.rate_limits.trusted_proxies = Some("127.0.0.0/8".into());
    };
    let behind = TestApp::spawn_configured(Backend::Sqlite, 10, configure).await;
    for _ in 0..2 {
        let a = post(&behind, None, Some("198.51.100.1"), CHEAP).await;
        assert_eq!(a.status, 200, "{:#}", a.body);
    }
    let a = post(&behind, None, Some("198.51.100.1"), CHEAP).await;
    assert_eq!(a.status, 429);
    // Another client behind the same proxy has its own budget; a prepended fake does not
    // make it someone else.
    let a = post(&behind, None, Some("198.51.100.2"), CHEAP).await;
    assert_eq!(a.status, 200);
    let a = post(&behind, None, Some("198.51.100.7, 198.51.100.1"), CHEAP).await;
    assert_eq!(a.status, 429, "the nearest untrusted hop is the client");

    // Without trusted proxies the header is ignored: every request is the peer's.
    let direct = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(0, 2), None)).await;
    for (forwarded, status) in [("198.51.100.1", 200), ("198.51.100.2", 200), ("198.51.100.3", 429)]
    {
        let a = post(&direct, None, Some(forwarded), CHEAP).await;
        assert_eq!(a.status, status, "{forwarded}");
    }
}

#[tokio::test]
async fn subscriptions_spend_from_the_same_budget() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, with(budgets(3, 0), None)).await;
    let a = post(&app, Some(&app.operator), None, CHEAP).await;
    assert_eq!(remaining(&a.state), 2);
    let mut ws = connected(&app, Some(&app.operator.clone())).await;
    let sub = "subscription { complaintEvents { kind } }";
    ws.subscribe("a", sub, json!({})).await;
    ws.subscribe("b", sub, json!({})).await;
    ws.subscribe("c", sub, json!({})).await;
    let refused = ws.next().await;
    assert_eq!(refused["type"], "error", "{refused:#}");
    assert_eq!(refused["id"], "c");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused:#}");
    let a = post(&app, Some(&app.operator), None, CHEAP).await;
    assert_eq!(a.status, 429, "the subscriptions spent the rest");
}
