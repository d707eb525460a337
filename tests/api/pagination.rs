//! Keyset pagination: walking forwards and backwards visits every row once, in the order a
//! direct SQL query gives.
use crate::helpers::{BOTH, TestApp, node_ids};
use serde_json::{Value, json};

const PAGE: &str = r#"
query Page($first: Int, $after: String, $last: Int, $before: String,
           $filter: ComplaintFilter, $order: ComplaintOrder) {
  complaints(first: $first, after: $after, last: $last, before: $before,
             filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}"#;

async fn walk(app: &TestApp, filter: &Value, order: &Value, size: i64, backward: bool) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let vars = if backward {
            json!({ "last": size, "before": cursor, "filter": filter, "order": order })
        } else {
            json!({ "first": size, "after": cursor, "filter": filter, "order": order })
        };
        let data = app.data(PAGE, vars).await;
        let conn = &data["complaints"];
        let ids = node_ids(conn);
        let info = &conn["pageInfo"];
        assert!(ids.len() as i64 <= size, "page larger than asked");
        // The flag towards where we came from is set exactly when we came from a cursor.
        let came_from = if backward { "hasNextPage" } else { "hasPreviousPage" };
        assert_eq!(info[came_from].as_bool(), Some(cursor.is_some()), "{info}");
        if backward {
            let mut page = ids;
            page.extend(seen);
            seen = page;
        } else {
            seen.extend(ids);
        }
        let more = if backward { "hasPreviousPage" } else { "hasNextPage" };
        if !info[more].as_bool().expect("flag") {
            break;
        }
        let next = if backward { "startCursor" } else { "endCursor" };
        cursor = Some(info[next].as_str().expect("cursor").to_owned());
        pages += 1;
        assert!(pages < 1000, "pagination does not end");
    }
    seen
}

async fn check_order(app: &TestApp, order: Value, filter: Value, sql: &str) {
    let expected = app.db.sql_column::<i64>(sql, vec![]).await;
    assert!(expected.len() > 20, "the test needs several pages, got {}", expected.len());
    let forward = walk(app, &filter, &order, 23, false).await;
    assert_eq!(forward, expected, "forward walk under {order}");
    let backward = walk(app, &filter, &order, 17, true).await;
    assert_eq!(backward, expected, "backward walk under {order}");
}

#[tokio::test]
async fn walks_every_order_both_ways_without_gaps_or_duplicates() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        check_order(
            &app,
            json!(null),
            json!(null),
            "SELECT id FROM complaint ORDER BY received_at DESC, id DESC",
        )
        .await;
        check_order(
            &app,
            json!({ "field": "RESOLUTION_DUE_AT", "direction": "ASC" }),
            json!({ "category": "HOUSING_UTILITIES" }),
            "SELECT id FROM complaint WHERE category = 'HOUSING_UTILITIES' \
             ORDER BY resolution_due_at ASC, id ASC",
        )
        .await;
        check_order(
            &app,
            json!({ "field": "NUMBER", "direction": "ASC" }),
            json!({ "status": ["RESOLVED"] }),
            "SELECT id FROM complaint WHERE status = 'RESOLVED' ORDER BY id ASC",
        )
        .await;
    }
}

#[tokio::test]
async fn first_page_flags_and_empty_pages() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let data = app.data(PAGE, json!({ "first": 5 })).await;
        let info = &data["complaints"]["pageInfo"];
        assert_eq!(info["hasNextPage"], true);
        assert_eq!(info["hasPreviousPage"], false);
        let data = app.data(PAGE, json!({ "first": 0 })).await;
        assert_eq!(node_ids(&data["complaints"]).len(), 0);
        // A filter nothing matches: an empty page, a zero count, no cursors.
        let none = json!({ "search": "такого текста нет ни в одной жалобе" });
        let data = app.data(PAGE, json!({ "first": 5, "filter": none })).await;
        assert_eq!(data["complaints"]["totalCount"], 0);
        assert_eq!(data["complaints"]["pageInfo"]["endCursor"], Value::Null);
        assert_eq!(data["complaints"]["pageInfo"]["hasNextPage"], false);
    }
}
