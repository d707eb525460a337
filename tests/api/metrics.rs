//! `/metrics`: what an operator's dashboards read — requests by operation and outcome,
//! latency histograms, errors by code, SQL statements and their time, the pools, the cache by
//! topic, sockets and subscriptions, events delivered, budgets refused, audit records.
use crate::helpers::{Backend, TestApp, metric, metric_in};
use crate::ws::connected;
use cur_gateway::ratelimit::Budgets;
use serde_json::json;
use std::time::Duration;

const ONE: &str = r#"query One { complaint(id: "1") { id status } }"#;
const AUTHORS: &str =
    "query Authors { complaints(first: 3) { edges { node { id author { name } } } } }";
const KPI: &str =
    "query Kpi($f: KpiFilter!) { kpis(filter: $f, groupBy: SOURCE) { key received } }";

#[tokio::test]
async fn metrics_show_requests_errors_sql_pools_cache_sockets_budgets_and_audits() {
    let app = TestApp::spawn_configured(Backend::Postgres, 30, |c| {
        c.rate_limits.set_budgets(Budgets { public: 2, ..Budgets::unlimited() });
    })
    .await;
    for _ in 0..3 {
        app.data(ONE, json!({})).await;
    }
    // A document that does not parse, and one over a budget.
    app.gql("{ nope", json!({})).await;
    for _ in 0..3 {
        app.gql_as(None, "{ municipalities { id } }", json!({})).await;
    }
    // Authors read: audit records.
    app.data(AUTHORS, json!({})).await;
    // A cached read, twice.
    let to = chrono::Utc::now() + chrono::Duration::hours(1);
    let window = json!({ "f": { "from": to - chrono::Duration::days(365), "to": to } });
    let kpi = app.data(KPI, window.clone()).await;
    assert_eq!(app.data(KPI, window).await, kpi);

    let mut ws = connected(&app, Some(&app.operator.clone())).await;
    ws.subscribe("e", "subscription { complaintEvents { kind } }", json!({})).await;
    let ingest =
        "mutation($i: [IngestComplaintInput!]!) { ingestComplaints(input: $i) { created } }";
    let item = json!([{ "source": "EMAIL", "externalId": "m-1", "municipalityId": "1",
                        "text": "Яма на дороге у дома 3" }]);
    app.data(ingest, json!({ "i": item })).await;
    ws.next().await;

    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(
        text.headers()["content-type"].to_str().ok(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = text.text().await.expect("text");
    let m = |name: &str, labels: &[(&str, &str)]| metric_in(&text, name, labels);

    assert_eq!(m("cur_graphql_requests_total", &[("operation", "One"), ("outcome", "OK")]), 3.0);
    assert_eq!(m("cur_graphql_request_duration_seconds_count", &[("operation", "One")]), 3.0);
    assert!(
        text.contains(r#"cur_graphql_request_duration_seconds_bucket{operation="One",le="0.005"}"#),
        "{text}"
    );
    assert_eq!(m("cur_graphql_errors_total", &[("code", "GRAPHQL_PARSE_FAILED")]), 1.0);
    assert_eq!(
        m("cur_graphql_requests_total", &[("operation", "anonymous"), ("outcome", "RATE_LIMITED")]),
        1.0
    );
    assert_eq!(m("cur_rate_limited_total", &[("role", "public")]), 1.0);
    assert!(m("cur_db_statements_total", &[]) >= 5.0);
    assert!(m("cur_db_statement_duration_seconds_count", &[]) >= 5.0);
    assert!(m("cur_db_pool_max_connections", &[("pool", "primary")]) >= 1.0);
    assert!(text.contains(r#"cur_db_pool_connections{pool="primary",state="idle"}"#), "{text}");
    assert_eq!(m("cur_db_up", &[]), 1.0);
    assert!(m("cur_cache_hits_total", &[("topic", "complaints")]) >= 1.0, "{text}");
    assert!(text.contains(r#"cur_cache_misses_total{topic="routing"}"#), "{text}");
    assert_eq!(m("cur_ws_connections", &[]), 1.0);
    assert_eq!(m("cur_subscriptions", &[]), 1.0);
    assert_eq!(m("cur_subscription_events_delivered_total", &[]), 1.0);
    assert_eq!(m("cur_audit_records_total", &[]), 3.0);
    assert_eq!(m("cur_graphql_requests_in_flight", &[]), 0.0);
    for help in
        ["cur_graphql_requests_total", "cur_db_statement_duration_seconds", "cur_ws_connections"]
    {
        assert!(text.contains(&format!("# HELP {help} ")), "HELP of {help}");
    }

    // A closed socket is no longer counted.
    ws.drop_now().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while metric(&app, "cur_ws_connections", &[]).await != 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "the socket is still counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&app, "cur_subscriptions", &[]).await, 0.0);
}
