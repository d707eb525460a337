//! The access boundary at the other entry points, each against SQL written here, on both
//! backends: KPIs (every role × every KpiFilter field × grouping: each group's `received`),
//! the audit log (each filter alone and in pairs; every role but the operator refused) and
//! Open311's public lists (each filter alone and in pairs: public complaints only).
use crate::boundary::{Kind, askers, ints};
use crate::helpers::{BOTH, TestApp, error_code};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use cur_gateway::auth::Role;
use sea_orm::Value as SqlValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const KPIS: &str =
    "query($f: KpiFilter!, $g: KpiDimension!) { kpis(filter: $f, groupBy: $g) { key received } }";

/// (GraphQL value, SQL column) of the groupings whose keys SQL can compute alike on both
/// backends (days and weeks are local-time keys; the KPI tests check those).
const GROUPINGS: [(&str, &str); 4] = [
    ("DEPARTMENT", "department_id"),
    ("MUNICIPALITY", "municipality_id"),
    ("CATEGORY", "category"),
    ("SOURCE", "source"),
];

/// `received` per group key of `where_sql` grouped by `column`, as the gateway keys them.
async fn received_by(
    app: &TestApp,
    column: &str,
    where_sql: &str,
    values: Vec<SqlValue>,
) -> BTreeMap<String, i64> {
    let rows = app
        .db
        .sql(
            &format!(
                "SELECT {column}, COUNT(*) FROM complaint WHERE {where_sql} GROUP BY {column}"
            ),
            values,
        )
        .await;
    rows.iter()
        .map(|r| {
            let key = match column {
                "department_id" | "municipality_id" => r
                    .try_get_by_index::<Option<i32>>(0)
                    .expect("an id")
                    .map_or("NONE".to_owned(), |v| v.to_string()),
                _ => r.try_get_by_index::<String>(0).expect("a label"),
            };
            let n = r
                .try_get_by_index::<i64>(1)
                .or_else(|_| r.try_get_by_index::<i32>(1).map(i64::from))
                .expect("a count");
            (key, n)
        })
        .collect()
}

async fn count(app: &TestApp, where_sql: &str, values: Vec<SqlValue>) -> i64 {
    app.db.sql_i64(&format!("SELECT COUNT(*) FROM complaint WHERE {where_sql}"), values).await
}

#[tokio::test]
async fn kpi_groups_of_every_role_and_filter_equal_sql() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let (from, to) = (now - Duration::days(90), now + Duration::days(1));
        let muni = ints(&app, "SELECT municipality_id FROM complaint GROUP BY municipality_id ORDER BY COUNT(*) DESC, municipality_id LIMIT 1").await[0];
        let dept = ints(&app, "SELECT department_id FROM complaint WHERE department_id IS NOT NULL GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1").await[0];
        let window = "received_at >= $1 AND received_at < $2";
        let filters: [(&str, Value, String); 5] = [
            ("window", json!({}), "1 = 1".into()),
            (
                "municipalityId",
                json!({ "municipalityId": muni.to_string() }),
                format!("municipality_id = {muni}"),
            ),
            (
                "departmentId",
                json!({ "departmentId": dept.to_string() }),
                format!("department_id = {dept}"),
            ),
            (
                "category",
                json!({ "category": "HOUSING_UTILITIES" }),
                "category = 'HOUSING_UTILITIES'".into(),
            ),
            ("source", json!({ "source": "TELEGRAM" }), "source = 'TELEGRAM'".into()),
        ];
        let mut compared = 0;
        for asker in askers(&app).await {
            for (name, extra, filter_sql) in &filters {
                let mut input = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
                for (k, v) in extra.as_object().expect("object") {
                    input[k] = v.clone();
                }
                // Another department's or territory's KPIs are refused, not narrowed to nothing.
                let refused = match asker.kind {
                    Kind::Integration => true,
                    Kind::Ministry(d) => *name == "departmentId" && d != dept,
                    Kind::Municipality(m) => *name == "municipalityId" && m != muni,
                    _ => false,
                };
                // The region total counts the window, category and source: never where.
                let region_sql = match *name {
                    "category" | "source" => filter_sql.clone(),
                    _ => "1 = 1".into(),
                };
                let (groups_sql, total_sql) = match asker.kind {
                    Kind::Region => (Some("1 = 1".to_owned()), filter_sql.clone()),
                    Kind::Ministry(d) => (Some(format!("department_id = {d}")), region_sql),
                    Kind::Municipality(m) => (Some(format!("municipality_id = {m}")), region_sql),
                    Kind::Public | Kind::Integration => (None, region_sql),
                };
                for (group_by, column) in GROUPINGS {
                    let what = format!("{backend:?} / {} / {name} / {group_by}", asker.name);
                    let vars = json!({ "f": input, "g": group_by });
                    let (_, resp) = app.gql_as(asker.token.as_deref(), KPIS, vars).await;
                    if refused {
                        assert_eq!(error_code(&resp), Some("FORBIDDEN"), "{what}: {resp}");
                        assert!(resp["data"].is_null() || resp["data"]["kpis"].is_null(), "{what}");
                        continue;
                    }
                    assert!(resp.get("errors").is_none(), "{what}: {resp}");
                    let rows = resp["data"]["kpis"].as_array().expect("rows");
                    let got: BTreeMap<String, i64> = rows
                        .iter()
                        .filter(|r| r["key"] != "TOTAL")
                        .map(|r| {
                            (
                                r["key"].as_str().expect("key").to_owned(),
                                r["received"].as_i64().expect("n"),
                            )
                        })
                        .collect();
                    let expected = match &groups_sql {
                        Some(scope) => {
                            let w = format!("{window} AND ({filter_sql}) AND ({scope})");
                            received_by(&app, column, &w, vec![from.into(), to.into()]).await
                        }
                        None => BTreeMap::new(),
                    };
                    assert_eq!(got, expected, "{what}: groups");
                    let total = rows.last().expect("a total row");
                    assert_eq!(total["key"], "TOTAL", "{what}");
                    let w = format!("{window} AND ({total_sql})");
                    let n = count(&app, &w, vec![from.into(), to.into()]).await;
                    assert_eq!(total["received"], n, "{what}: total");
                    compared += 1;
                }
            }
        }
        assert!(compared >= 150, "{backend:?}: only {compared} KPI answers compared");
    }
}

const AUDIT: &str = r#"query($f: AuditFilter) {
  auditLog(first: 5, filter: $f) { totalCount edges { node { id } } } }"#;

#[tokio::test]
async fn audit_log_filters_equal_sql_and_only_operators_read_it() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        // Author reads by an operator and by a ministry (its current complaints), in two
        // batches a second apart so `from`/`to` split them.
        let operator = app.token(Role::Operator, None, None);
        let first = "query First { complaints(first: 6) { edges { node { author { name } } } } }";
        app.data_as(Some(&operator), first, json!({})).await;
        let dept = ints(&app, "SELECT department_id FROM complaint WHERE department_id IS NOT NULL GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1").await[0];
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let mine = format!(
            "query Mine {{ complaints(first: 4, filter: {{departmentId: \"{dept}\"}}) {{ edges {{ node {{ author {{ name }} }} }} }} }}"
        );
        app.data_as(Some(&ministry), &mine, json!({})).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let split: DateTime<Utc> = Utc::now();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = "query Second { complaints(first: 3, orderBy: {field: NUMBER, direction: ASC}) { edges { node { author { name } } } } }";
        app.data_as(Some(&operator), second, json!({})).await;
        let complaint = app
            .db
            .sql_i64("SELECT complaint_id FROM audit_record ORDER BY id LIMIT 1", vec![])
            .await;
        let at = split.to_rfc3339_opts(SecondsFormat::Micros, true);
        let singles: [(&str, Value, String); 5] = [
            ("sub", json!({ "sub": "test-operator" }), "sub = 'test-operator'".into()),
            ("role", json!({ "role": "ministry" }), "role = 'ministry'".into()),
            (
                "complaintId",
                json!({ "complaintId": complaint.to_string() }),
                format!("complaint_id = {complaint}"),
            ),
            ("from", json!({ "from": at }), "at >= $1".into()),
            ("to", json!({ "to": at }), "at < $1".into()),
        ];
        let mut cases: Vec<(String, Value, String)> =
            vec![("none".into(), json!({}), "1 = 1".into())];
        cases.extend(singles.iter().map(|(n, v, s)| (n.to_string(), v.clone(), s.clone())));
        for (i, a) in singles.iter().enumerate() {
            for b in &singles[i + 1..] {
                let mut input = a.1.clone();
                for (k, v) in b.1.as_object().expect("object") {
                    input[k] = v.clone();
                }
                cases.push((format!("{} + {}", a.0, b.0), input, format!("{} AND {}", a.2, b.2)));
            }
        }
        let mut non_empty = 0;
        for (name, input, sql) in &cases {
            let what = format!("{backend:?} / auditLog {name}");
            let values: Vec<SqlValue> =
                if sql.contains("$1") { vec![split.into()] } else { vec![] };
            let ids = app
                .db
                .sql_column::<i64>(
                    &format!("SELECT id FROM audit_record WHERE {sql} ORDER BY id DESC"),
                    values,
                )
                .await;
            let data = app.data_as(Some(&operator), AUDIT, json!({ "f": input })).await;
            let log = &data["auditLog"];
            assert_eq!(log["totalCount"], ids.len(), "{what}: totalCount");
            let got: Vec<i64> = log["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").parse().expect("numeric"))
                .collect();
            assert_eq!(got, ids.iter().take(5).copied().collect::<Vec<_>>(), "{what}: page");
            non_empty += usize::from(!ids.is_empty());
            // Nobody else reads the trail, with or without a filter.
            for asker in askers(&app).await.iter().filter(|a| a.name != "operator") {
                let (_, resp) =
                    app.gql_as(asker.token.as_deref(), AUDIT, json!({ "f": input })).await;
                assert_eq!(
                    error_code(&resp),
                    Some("FORBIDDEN"),
                    "{what} as {}: {resp}",
                    asker.name
                );
                assert!(resp["data"].is_null(), "{what} as {}: {resp}", asker.name);
            }
        }
        assert!(
            non_empty * 2 > cases.len(),
            "{backend:?}: {non_empty}/{} audit cases held rows",
            cases.len()
        );
    }
}

async fn open311(app: &TestApp, query: &str) -> Vec<String> {
    let resp = app
        .client
        .get(app.url(&format!("/open311/v2/requests.json?{query}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 200, "{query}");
    let body: Value = resp.json().await.expect("JSON");
    body.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["service_request_id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn open311_list_filters_equal_sql_over_public_complaints() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let muni = ints(&app, "SELECT municipality_id FROM complaint WHERE is_public = TRUE GROUP BY municipality_id ORDER BY COUNT(*) DESC, municipality_id LIMIT 1").await[0];
        // Two public numbers and a private one: ids name requests whatever their dates, but
        // never a complaint that is not public.
        let public: Vec<String> = app
            .db
            .sql_column(
                "SELECT number FROM complaint WHERE is_public = TRUE ORDER BY id LIMIT 2",
                vec![],
            )
            .await;
        let private: Vec<String> = app
            .db
            .sql_column(
                "SELECT number FROM complaint WHERE is_public = FALSE ORDER BY id LIMIT 1",
                vec![],
            )
            .await;
        let ids = format!("{},{},{}", public[0], private[0], public[1]);
        let (start, end) = (now - Duration::days(40), now - Duration::days(5));
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        // (query, SQL, whether the default 90-day window applies)
        let singles: Vec<(String, String, bool)> = vec![
            ("service_code=roads".into(), "category = 'ROADS'".into(), true),
            ("status=open".into(), "status NOT IN ('RESOLVED', 'REJECTED')".into(), true),
            ("status=closed".into(), "status IN ('RESOLVED', 'REJECTED')".into(), true),
            (format!("jurisdiction_id={muni}"), format!("municipality_id = {muni}"), true),
            (
                format!("start_date={}&end_date={}", stamp(start), stamp(end)),
                "received_at >= $1 AND received_at < $2".into(),
                false,
            ),
            (
                format!("service_request_id={ids}"),
                format!("number IN ('{}', '{}', '{}')", public[0], private[0], public[1]),
                false,
            ),
        ];
        let mut cases = vec![(String::new(), "1 = 1".to_owned(), true)];
        cases.extend(singles.iter().cloned());
        for (i, a) in singles.iter().enumerate() {
            for b in &singles[i + 1..] {
                if a.0.starts_with("status") && b.0.starts_with("status") {
                    continue;
                }
                // Ids lift the window; dates set it.
                let window = a.2 && b.2;
                cases.push((format!("{}&{}", a.0, b.0), format!("{} AND {}", a.1, b.1), window));
            }
        }
        let mut held = 0;
        for (query, sql, default_window) in &cases {
            // Ids name their requests whatever the dates.
            let lifted = query.contains("service_request_id");
            let sql = if lifted {
                sql.replace("received_at >= $1 AND received_at < $2", "1 = 1")
            } else {
                sql.clone()
            };
            let (window, values): (&str, Vec<SqlValue>) = if lifted {
                ("1 = 1", vec![])
            } else if *default_window {
                (
                    "received_at >= $1 AND received_at < $2",
                    vec![(now - Duration::days(90)).into(), (now + Duration::minutes(1)).into()],
                )
            } else {
                ("1 = 1", vec![start.into(), end.into()])
            };
            let expected: Vec<String> = app
                .db
                .sql_column(
                    &format!("SELECT number FROM complaint WHERE is_public = TRUE AND {window} AND {sql} ORDER BY received_at DESC, id DESC LIMIT 1000"),
                    values,
                )
                .await;
            assert_eq!(open311(&app, query).await, expected, "{backend:?} Open311 ?{query}");
            assert!(
                !expected.contains(&private[0]),
                "{backend:?}: a private complaint is never listed"
            );
            held += usize::from(!expected.is_empty());
        }
        assert!(
            held * 3 > cases.len() * 2,
            "{backend:?}: {held}/{} Open311 cases held rows",
            cases.len()
        );
    }
}
