//! Every author read leaves an audit record (who, role, complaint, when, operation), written
//! in one statement per request; refused reads leave none; operators read the trail.
use crate::helpers::{BOTH, Backend, TEST_COMPLAINTS, TestApp, error_code, node_ids};
use cur_gateway::auth::Role;
use serde_json::json;

const PAGE: &str =
    "query Authors { complaints(first: 10) { edges { node { id author { name } } } } }";
const PAGE_WITHOUT_AUTHOR: &str =
    "query NoAuthors { complaints(first: 10) { edges { node { id } } } }";

async fn audit_rows(app: &TestApp) -> i64 {
    app.db.sql_i64("SELECT COUNT(*) FROM audit_record", vec![]).await
}

#[tokio::test]
async fn author_reads_are_audited_once_per_request() {
    for backend in BOTH {
        // The page without authors would come from the operation cache the second time.
        let app =
            TestApp::spawn_configured(backend, TEST_COMPLAINTS, |c| c.cache_operations = false)
                .await;
        app.data(PAGE_WITHOUT_AUTHOR, json!({})).await; // loads the directory snapshot
        let before = app.statements();
        let data = app.data(PAGE_WITHOUT_AUTHOR, json!({})).await;
        let without = app.statements() - before;
        assert_eq!(audit_rows(&app).await, 0, "reads without authors are not audited");

        let before = app.statements();
        let page = app.data(PAGE, json!({})).await;
        let with = app.statements() - before;
        assert_eq!(with, without + 1, "{backend:?}: the ten records go in one statement");
        let ids = node_ids(&page["complaints"]);
        assert_eq!(ids, node_ids(&data["complaints"]));

        let rows = app
            .db
            .sql(
                "SELECT complaint_id, sub, role, operation FROM audit_record ORDER BY complaint_id DESC",
                vec![],
            )
            .await;
        let mut audited: Vec<i64> =
            rows.iter().map(|r| r.try_get_by_index::<i64>(0).expect("id")).collect();
        let mut expected = ids.clone();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        audited.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(audited, expected, "{backend:?}: one record per complaint read");
        for r in &rows {
            assert_eq!(r.try_get_by_index::<String>(1).expect("sub"), "test-operator");
            assert_eq!(r.try_get_by_index::<String>(2).expect("role"), "operator");
            assert_eq!(
                r.try_get_by_index::<Option<String>>(3).expect("op").as_deref(),
                Some("Authors")
            );
        }

        // Refused reads leave nothing: a governor is refused at validation, a ministry's
        // moved-on row resolves to FORBIDDEN.
        let governor = app.token(Role::Governor, None, None);
        let (_, resp) = app.gql_as(Some(&governor), PAGE, json!({})).await;
        assert_eq!(error_code(&resp), Some("FORBIDDEN"));
        assert_eq!(audit_rows(&app).await, 10);
        let (dept, moved_on) = {
            let rows = app
                .db
                .sql(
                    "SELECT a.department_id, c.id FROM complaint c JOIN assignment a ON a.complaint_id = c.id \
                     WHERE c.department_id <> a.department_id ORDER BY c.id LIMIT 1",
                    vec![],
                )
                .await;
            let r = &rows[0];
            (r.try_get_by_index::<i32>(0).expect("dept"), r.try_get_by_index::<i64>(1).expect("id"))
        };
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let one = "query($id: ID!) { complaint(id: $id) { author { name } } }";
        let (_, resp) =
            app.gql_as(Some(&ministry), one, json!({ "id": moved_on.to_string() })).await;
        assert_eq!(error_code(&resp), Some("FORBIDDEN"));
        assert_eq!(audit_rows(&app).await, 10, "{backend:?}: a refused read is not audited");
        let current = app
            .db
            .sql_i64(
                &format!(
                    "SELECT id FROM complaint WHERE department_id = {dept} ORDER BY id LIMIT 1"
                ),
                vec![],
            )
            .await;
        app.data_as(Some(&ministry), one, json!({ "id": current.to_string() })).await;
        let role = app
            .db
            .sql_column::<String>(
                &format!("SELECT role FROM audit_record WHERE complaint_id = {current}"),
                vec![],
            )
            .await;
        assert!(role.contains(&"ministry".to_owned()), "{backend:?}: {role:?}");
    }
}

#[tokio::test]
async fn operators_page_through_the_audit_log() {
    let app = TestApp::spawn(Backend::Postgres).await;
    app.data(PAGE, json!({})).await;
    app.data("{ complaints(first: 3) { edges { node { author { email } } } } }", json!({})).await;
    let all =
        app.db.sql_column::<i64>("SELECT id FROM audit_record ORDER BY id DESC", vec![]).await;
    assert_eq!(all.len(), 13);

    let q = "query($after: String, $filter: AuditFilter) {
        auditLog(first: 4, after: $after, filter: $filter) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { node { id sub role complaintId operation at } } } }";
    let mut seen = Vec::new();
    let mut after = json!(null);
    loop {
        let data = app.data(q, json!({ "after": after })).await;
        let log = &data["auditLog"];
        assert_eq!(log["totalCount"], 13);
        for e in log["edges"].as_array().expect("edges") {
            seen.push(e["node"]["id"].as_str().expect("id").parse::<i64>().expect("numeric"));
            assert_eq!(e["node"]["role"], "operator");
        }
        if log["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = log["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, all, "newest first, no gaps, no duplicates");

    let complaint =
        app.db.sql_i64("SELECT complaint_id FROM audit_record ORDER BY id LIMIT 1", vec![]).await;
    let by_complaint = app
        .data(
            q,
            json!({ "filter": { "complaintId": complaint.to_string(), "sub": "test-operator" } }),
        )
        .await;
    let expected = app
        .db
        .sql_i64(
            &format!("SELECT COUNT(*) FROM audit_record WHERE complaint_id = {complaint}"),
            vec![],
        )
        .await;
    assert_eq!(by_complaint["auditLog"]["totalCount"], expected);
    let nobody = app.data(q, json!({ "filter": { "sub": "nobody" } })).await;
    assert_eq!(nobody["auditLog"]["totalCount"], 0);

    let ministry = app.token(Role::Ministry, Some(1), None);
    let (_, resp) = app.gql_as(Some(&ministry), q, json!({})).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    assert!(resp["data"].is_null());
}
