//! Nested data is right, and it is batched: a page costs a constant number of statements.
use crate::helpers::{BOTH, TestApp};
use serde_json::{Value, json};

const FULL_PAGE: &str = r#"
query Full($first: Int) {
  complaints(first: $first) {
    totalCount
    edges { node {
      id number source externalId category text address lat lon receivedAt status priority
      firstResponseDueAt resolutionDueAt firstResponseAt resolvedAt isOverdue isPublic version
      responseCount
      municipality { id name nameEn kind population }
      department { id code name kind municipality { name } }
      assignee { id fullName position phone email active department { name } }
      author { name phone email profileUrl }
      assignments { id assignedBy assignedAt reason department { name } assignee { fullName } }
      history { id from to actor comment at }
      responses { id text isPublic at department { name } staff { fullName } }
    } }
  }
}"#;

#[tokio::test]
async fn a_page_with_every_nested_field_costs_a_constant_number_of_statements() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        // The first request loads the directory snapshot (municipalities, departments, staff).
        let before = app.statements();
        app.data("{ municipalities { id } }", json!({})).await;
        assert!(app.statements() - before <= 3, "{backend:?}: directory load");
        let mut costs = Vec::new();
        for first in [5, 50] {
            let before = app.statements();
            let data = app.data(FULL_PAGE, json!({ "first": first })).await;
            costs.push(app.statements() - before);
            assert_eq!(data["complaints"]["edges"].as_array().map(Vec::len), Some(first));
        }
        // The page, its count (from the KPI rollup: its parts' generations, and the parts not
        // kept in memory yet), one statement per history list (assignments, history,
        // responses; response counts derive from the responses) and one insert of the audit
        // records of the authors read. Municipalities, departments and staff come from the
        // directory snapshot. An N+1 would cost 50+.
        eprintln!("{backend:?}: statements per page of 5 and 50: {costs:?}");
        for cost in costs {
            assert!(cost <= 7, "{backend:?}: a page ran {cost} statements");
        }
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x[key].as_str().map_or_else(|| x[key].to_string(), str::to_owned))
        .collect()
}

#[tokio::test]
async fn nested_lists_match_the_stored_history() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        // A reassigned complaint that was answered: two assignments, events and responses.
        let id = app
            .db
            .sql_i64(
                "SELECT c.id FROM complaint c WHERE c.first_response_at IS NOT NULL AND \
                 (SELECT COUNT(*) FROM assignment a WHERE a.complaint_id = c.id) > 1 \
                 ORDER BY c.id LIMIT 1",
                vec![],
            )
            .await;
        let q = r#"query($id: ID!) { complaint(id: $id) {
            number status version
            municipality { name }
            department { name }
            assignee { fullName }
            assignments { department { name } }
            history { from to }
            responses { text isPublic }
            responseCount
        } }"#;
        let data = app.data(q, json!({ "id": id.to_string() })).await;
        let c = &data["complaint"];
        let rows = app
            .db
            .sql(
                "SELECT m.name, d.name, s.full_name, c.status, c.version FROM complaint c \
                 JOIN municipality m ON m.id = c.municipality_id \
                 LEFT JOIN department d ON d.id = c.department_id \
                 LEFT JOIN staff s ON s.id = c.assignee_id WHERE c.id = $1",
                vec![id.into()],
            )
            .await;
        let row = &rows[0];
        assert_eq!(c["municipality"]["name"], row.try_get_by_index::<String>(0).expect("m"));
        assert_eq!(c["department"]["name"], row.try_get_by_index::<String>(1).expect("d"));
        assert_eq!(
            c["assignee"]["fullName"].as_str(),
            row.try_get_by_index::<Option<String>>(2).expect("s").as_deref()
        );
        assert_eq!(c["status"], row.try_get_by_index::<String>(3).expect("status"));
        assert_eq!(c["version"], row.try_get_by_index::<i32>(4).expect("version"));

        let depts = app
            .db
            .sql_column::<String>(
                "SELECT d.name FROM assignment a JOIN department d ON d.id = a.department_id \
                 WHERE a.complaint_id = $1 ORDER BY a.assigned_at, a.id",
                vec![id.into()],
            )
            .await;
        assert!(depts.len() > 1);
        let got: Vec<String> = c["assignments"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["department"]["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(got, depts);

        let events: Vec<String> = app
            .db
            .sql_column::<String>(
                "SELECT to_status FROM status_event WHERE complaint_id = $1 ORDER BY at, id",
                vec![id.into()],
            )
            .await;
        assert_eq!(strings(&c["history"], "to"), events);
        assert_eq!(c["history"][0]["from"], Value::Null, "registration has no previous state");

        let texts: Vec<String> = app
            .db
            .sql_column::<String>(
                "SELECT text FROM response WHERE complaint_id = $1 ORDER BY at, id",
                vec![id.into()],
            )
            .await;
        assert_eq!(strings(&c["responses"], "text"), texts);
        assert_eq!(c["responseCount"], texts.len());
    }
}

#[tokio::test]
async fn fragments_and_aliases_are_prefetched_too() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    app.data("{ municipalities { id } }", json!({})).await;
    let q = r#"
        fragment Lists on Complaint {
            history { to }
            ... on Complaint { answers: responses { text } words: text }
        }
        query { complaints(first: 30) { nodes { id ...Lists assignments { department { name } } } } }"#;
    let before = app.statements();
    let data = app.data(q, json!({})).await;
    let cost = app.statements() - before;
    // page + history + responses + assignments, whatever the fragments and aliases.
    assert!(cost <= 4, "fragments cost {cost} statements");
    let nodes = data["complaints"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 30);
    assert!(nodes.iter().all(|n| n["history"].as_array().is_some_and(|h| !h.is_empty())));
    assert!(nodes.iter().all(|n| n["answers"].is_array()));
    // Columns selected only inside fragments (and under an alias) are read, not skipped.
    let texts: Vec<String> = app
        .db
        .sql_column::<String>(
            "SELECT text FROM complaint ORDER BY received_at DESC, id DESC LIMIT 30",
            vec![],
        )
        .await;
    let got: Vec<&str> = nodes.iter().map(|n| n["words"].as_str().expect("text")).collect();
    assert_eq!(got, texts);
}
