//! One complaint with its lists (`complaint(id:)`, the details page), for each of the ten
//! principals, against SQL written here, on both backends: in-scope complaints with the most
//! history, a ministry's handed-on ones, out-of-scope and missing ids; every list's rows, in
//! order, with their instants, the responses each reader's notes rule lets through, the count
//! alone, and deliveries (the operator's only); and the page's cost in statements.
use crate::boundary::{Kind, askers};
use crate::helpers::{BOTH, Backend, TestApp, error_code};
use chrono::{DateTime, SecondsFormat, Utc};
use cur_gateway::auth::Role;
use sea_orm::{ActiveModelTrait, QueryResult, Set};
use serde_json::{Value, json};

const DETAILS: &str = "query($id: ID!) { complaint(id: $id) { id status \
    assignments { id department { id } assignedAt } history { id from to at } \
    responses { id isPublic at } responseCount } }";
const COUNT_ONLY: &str = "query($id: ID!) { complaint(id: $id) { id responseCount } }";
const DELIVERIES: &str = "query($id: ID!) { complaint(id: $id) { id deliveries { target event \
    state attempts lastError createdAt deliveredAt } } }";

/// An instant as both sides are compared: UTC, microseconds.
fn instant(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// `value` with every instant the gateway wrote rewritten as [`instant`] does.
fn normalised(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let timed = ["assignedAt", "at", "createdAt", "deliveredAt"].contains(&&**k);
                    let v = match v.as_str() {
                        Some(s) if timed => instant(
                            DateTime::parse_from_rfc3339(s).expect("an RFC 3339 instant").into(),
                        ),
                        _ => normalised(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        other => other.clone(),
    }
}

fn at(row: &QueryResult, i: usize) -> Value {
    instant(row.try_get_by_index::<DateTime<Utc>>(i).expect("an instant"))
}

fn opt_text(row: &QueryResult, i: usize) -> Value {
    json!(row.try_get_by_index::<Option<String>>(i).expect("text"))
}

/// What `complaint(id:)` with [`DETAILS`] answers for a reader whose notes rule is `notes`.
async fn expected(app: &TestApp, id: i64, notes: &str) -> Value {
    let db = &app.db;
    let assignments = db
        .sql(
            "SELECT id, department_id, assigned_at FROM assignment WHERE complaint_id = $1 \
             ORDER BY assigned_at, id",
            vec![id.into()],
        )
        .await;
    let history = db
        .sql(
            "SELECT id, from_status, to_status, at FROM status_event WHERE complaint_id = $1 \
             ORDER BY at, id",
            vec![id.into()],
        )
        .await;
    let responses = db
        .sql(
            &format!(
                "SELECT id, is_public, at FROM response WHERE complaint_id = $1 AND {notes} \
                 ORDER BY at, id"
            ),
            vec![id.into()],
        )
        .await;
    let status = db
        .sql_column::<String>("SELECT status FROM complaint WHERE id = $1", vec![id.into()])
        .await;
    let id_of = |r: &QueryResult| json!(r.try_get_by_index::<i64>(0).expect("id").to_string());
    json!({
        "id": id.to_string(),
        "status": status[0],
        "assignments": assignments.iter().map(|r| json!({
            "id": id_of(r),
            "department": { "id": r.try_get_by_index::<i32>(1).expect("dept").to_string() },
            "assignedAt": at(r, 2),
        })).collect::<Vec<_>>(),
        "history": history.iter().map(|r| json!({
            "id": id_of(r), "from": opt_text(r, 1), "to": opt_text(r, 2), "at": at(r, 3),
        })).collect::<Vec<_>>(),
        "responses": responses.iter().map(|r| json!({
            "id": id_of(r),
            "isPublic": r.try_get_by_index::<bool>(1).expect("flag"),
            "at": at(r, 2),
        })).collect::<Vec<_>>(),
        "responseCount": responses.len(),
    })
}

/// What the operator's [`DELIVERIES`] answers for complaint `id`.
async fn expected_deliveries(app: &TestApp, id: i64) -> Value {
    let rows = app
        .db
        .sql(
            "SELECT target, body, state, attempts, last_error, created_at, delivered_at \
             FROM delivery WHERE complaint_id = $1 ORDER BY id",
            vec![id.into()],
        )
        .await;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let body: Value =
                serde_json::from_str(&r.try_get_by_index::<String>(1).expect("body")).expect("j");
            let delivered = r.try_get_by_index::<Option<DateTime<Utc>>>(6).expect("instant");
            json!({
                "target": r.try_get_by_index::<String>(0).expect("target"),
                "event": body["event"],
                "state": r.try_get_by_index::<String>(2).expect("state"),
                "attempts": r.try_get_by_index::<i32>(3).expect("attempts"),
                "lastError": opt_text(r, 4),
                "createdAt": at(r, 5),
                "deliveredAt": delivered.map(instant),
            })
        })
        .collect();
    json!({ "id": id.to_string(), "deliveries": list })
}

/// Two deliveries of complaint `id`, one delivered and one failed and claimed, so every
/// column of the list has a value to carry.
async fn deliver(app: &TestApp, id: i64) {
    use entity::delivery::ActiveModel;
    let now = Utc::now();
    for (n, state, done) in [(1, "DELIVERED", Some(now)), (2, "FAILED", None)] {
        let body = json!({ "event": if n == 1 { "RESPONDED" } else { "RESOLVED" } });
        ActiveModel {
            complaint_id: Set(id),
            target: Set("city-open311".into()),
            dedup_key: Set(format!("details-{id}-{n}")),
            body: Set(body.to_string()),
            state: Set(state.into()),
            attempts: Set(n),
            last_error: Set((n == 2).then(|| "503 from the source \"city\"".into())),
            next_attempt_at: Set(now),
            claimed_by: Set((n == 2).then(|| "replica-b".into())),
            claimed_until: Set((n == 2).then_some(now)),
            created_at: Set(now - chrono::Duration::minutes(n.into())),
            delivered_at: Set(done),
            ..Default::default()
        }
        .insert(app.db.db.write())
        .await
        .expect("insert a delivery");
    }
}

#[tokio::test]
async fn complaint_details_of_every_role_equal_sql() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let busiest = app
            .db
            .sql_i64(
                "SELECT complaint_id FROM status_event GROUP BY complaint_id \
                 ORDER BY COUNT(*) DESC, complaint_id LIMIT 1",
                vec![],
            )
            .await;
        deliver(&app, busiest).await;
        let mut cells = 0;
        for asker in askers(&app).await {
            let scope = &asker.scope_sql;
            let ids_where = |cond: &str| {
                format!(
                    "SELECT id FROM complaint WHERE {cond} ORDER BY (SELECT COUNT(*) FROM \
                     status_event e WHERE e.complaint_id = complaint.id) DESC, id LIMIT 4"
                )
            };
            let mut ids = app.db.sql_column::<i64>(&ids_where(scope), vec![]).await;
            ids.extend(
                app.db.sql_column::<i64>(&ids_where(&format!("NOT ({scope})")), vec![]).await,
            );
            let notes = match asker.kind {
                Kind::Region => "1 = 1".to_owned(),
                Kind::Ministry(dept) => {
                    let handed_on =
                        format!("{scope} AND (department_id IS NULL OR department_id <> {dept})");
                    ids.extend(app.db.sql_column::<i64>(&ids_where(&handed_on), vec![]).await);
                    format!("(is_public = TRUE OR department_id = {dept})")
                }
                _ => "is_public = TRUE".to_owned(),
            };
            ids.extend([busiest, 1_000_000_000]);
            let operator = asker.name == "operator";
            for id in ids {
                let in_scope = app
                    .db
                    .sql_i64(
                        &format!("SELECT COUNT(*) FROM complaint WHERE id = $1 AND ({scope})"),
                        vec![id.into()],
                    )
                    .await
                    == 1;
                let vars = json!({ "id": id.to_string() });
                let token = asker.token.as_deref();
                let mut asked = vec![(DETAILS, None), (COUNT_ONLY, None)];
                if operator && in_scope {
                    asked.push((DELIVERIES, Some(expected_deliveries(&app, id).await)));
                }
                let full = if in_scope { expected(&app, id, &notes).await } else { Value::Null };
                for (query, want) in asked {
                    let (_, resp) = app.gql_as(token, query, vars.clone()).await;
                    let cell = format!("{backend:?} {} complaint {id} {query}", asker.name);
                    let got = &resp["data"]["complaint"];
                    if !in_scope {
                        assert!(got.is_null(), "{cell}: out of scope, answered {resp}");
                        assert_eq!(error_code(&resp), Some("NOT_FOUND"), "{cell}: {resp}");
                        continue;
                    }
                    assert!(resp.get("errors").is_none(), "{cell}: {resp}");
                    let want = want.unwrap_or_else(|| match query {
                        COUNT_ONLY => {
                            json!({ "id": full["id"], "responseCount": full["responseCount"] })
                        }
                        _ => full.clone(),
                    });
                    assert_eq!(normalised(got), want, "{cell}");
                    cells += 1;
                }
            }
        }
        // Governor, operator, three ministries and three municipalities, public: each has
        // complaints in scope (the integration role has none).
        assert!(cells >= 9 * 2 * 4, "{backend:?}: only {cells} answered cells");
        // The page is one statement on Postgres (the row and its lists), four elsewhere.
        let governor = app.token(Role::Governor, None, None);
        let vars = json!({ "id": busiest.to_string() });
        let before = app.statements();
        app.data_as(Some(&governor), DETAILS, vars).await;
        let cost = app.statements() - before;
        let most = if backend == Backend::Postgres { 1 } else { 4 };
        assert!(cost <= most, "{backend:?}: the details page ran {cost} statements");
        let with_deliveries = expected_deliveries(&app, busiest).await;
        assert_eq!(with_deliveries["deliveries"].as_array().map(Vec::len), Some(2));
    }
}
