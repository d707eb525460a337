//! Every filter returns exactly the rows a hand-written SQL query returns, and totalCount
//! equals that query's count.
use crate::helpers::{BOTH, TestApp, node_ids};
use chrono::{Duration, Utc};
use sea_orm::Value as SqlValue;
use serde_json::{Value, json};

const LIST: &str = r#"
query List($filter: ComplaintFilter) {
  complaints(first: 100, filter: $filter) { totalCount edges { node { id } } }
}"#;

async fn check(app: &TestApp, filter: Value, sql_where: &str, values: Vec<SqlValue>) {
    let count = app
        .db
        .sql_i64(&format!("SELECT COUNT(*) FROM complaint WHERE {sql_where}"), values.clone())
        .await;
    let ids = app
        .db
        .sql_column::<i64>(
            &format!(
                "SELECT id FROM complaint WHERE {sql_where} \
                 ORDER BY received_at DESC, id DESC LIMIT 100"
            ),
            values,
        )
        .await;
    assert!(count > 0, "filter {filter} should match something in the test region");
    let data = app.data(LIST, json!({ "filter": filter })).await;
    assert_eq!(data["complaints"]["totalCount"], count, "totalCount of {filter}");
    assert_eq!(node_ids(&data["complaints"]), ids, "rows of {filter}");
}

#[tokio::test]
async fn each_filter_matches_direct_sql() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let busiest = app
            .db
            .sql_i64(
                "SELECT department_id FROM complaint WHERE department_id IS NOT NULL \
                 GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1",
                vec![],
            )
            .await;
        let now = Utc::now();
        let (from, to) = (now - Duration::days(120), now - Duration::days(30));
        let overdue = "status NOT IN ('RESOLVED', 'REJECTED') AND \
                       ((first_response_at IS NULL AND first_response_due_at < $1) \
                        OR resolution_due_at < $1)";
        check(&app, json!({ "municipalityId": "1" }), "municipality_id = 1", vec![]).await;
        check(
            &app,
            json!({ "departmentId": busiest.to_string() }),
            &format!("department_id = {busiest}"),
            vec![],
        )
        .await;
        check(&app, json!({ "category": "ROADS" }), "category = 'ROADS'", vec![]).await;
        check(
            &app,
            json!({ "status": ["RESOLVED", "REJECTED"] }),
            "status IN ('RESOLVED', 'REJECTED')",
            vec![],
        )
        .await;
        check(&app, json!({ "source": "HOTLINE_122" }), "source = 'HOTLINE_122'", vec![]).await;
        check(
            &app,
            json!({ "receivedFrom": from.to_rfc3339(), "receivedTo": to.to_rfc3339() }),
            "received_at >= $1 AND received_at < $2",
            vec![from.into(), to.into()],
        )
        .await;
        check(&app, json!({ "overdue": true }), overdue, vec![now.into()]).await;
        check(&app, json!({ "overdue": false }), &format!("NOT ({overdue})"), vec![now.into()])
            .await;
        check(
            &app,
            json!({ "municipalityId": "1", "category": "HOUSING_UTILITIES",
                    "status": ["RESOLVED", "ANSWERED", "IN_PROGRESS"] }),
            "municipality_id = 1 AND category = 'HOUSING_UTILITIES' \
             AND status IN ('RESOLVED', 'ANSWERED', 'IN_PROGRESS')",
            vec![],
        )
        .await;
    }
}

#[tokio::test]
async fn search_is_case_insensitive_in_russian_on_every_backend() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        // Computed here from the raw rows, independently of the stored search column.
        let rows = app
            .db
            .sql("SELECT id, text FROM complaint ORDER BY received_at DESC, id DESC", vec![])
            .await;
        let expected: Vec<i64> = rows
            .iter()
            .filter(|r| {
                let text: String = r.try_get_by_index(1).expect("text");
                text.to_lowercase().contains("больниц")
            })
            .map(|r| r.try_get_by_index::<i64>(0).expect("id"))
            .collect();
        assert!(!expected.is_empty());
        let data = app.data(LIST, json!({ "filter": { "search": "БОЛЬНИЦ" } })).await;
        assert_eq!(node_ids(&data["complaints"]), expected);
        // LIKE wildcards in the needle are literal characters.
        let data = app.data(LIST, json!({ "filter": { "search": "%" } })).await;
        assert_eq!(data["complaints"]["totalCount"], 0);
        // The number is searchable too.
        let number: String = app.db.sql("SELECT number FROM complaint LIMIT 1", vec![]).await[0]
            .try_get_by_index(0)
            .expect("number");
        let data = app.data(LIST, json!({ "filter": { "search": number } })).await;
        assert_eq!(data["complaints"]["totalCount"], 1);
    }
}
