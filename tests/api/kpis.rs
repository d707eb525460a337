//! KPIs checked against figures computed here from the raw rows (and, on Postgres, against
//! `percentile_cont` itself), on both backends; edge cases; scoping by role.
use crate::helpers::{BOTH, Backend, TEST_COMPLAINTS, TestApp, error_code};
use crate::lifecycle::move_to;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use cur_gateway::{auth::Role, store};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

pub(crate) const KPIS: &str = "query($f: KpiFilter!, $g: KpiDimension!) { kpis(filter: $f, groupBy: $g) {
    key label received open overdue slaCompliance firstResponse { avg p50 p90 } resolution { avg p50 p90 } reopenedShare } }";

/// One complaint as the test reads it from the table.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) department: Option<i64>,
    municipality: i64,
    category: String,
    source: String,
    received: DateTime<Utc>,
    status: String,
    first_at: Option<DateTime<Utc>>,
    first_due: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    reopened: bool,
}

async fn raw_rows(app: &TestApp, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Raw> {
    let reopened: HashSet<i64> = app
        .db
        .sql_column::<i64>(
            "SELECT DISTINCT complaint_id FROM status_event WHERE to_status = 'REOPENED'",
            vec![],
        )
        .await
        .into_iter()
        .collect();
    let rows = app
        .db
        .sql(
            "SELECT id, department_id, municipality_id, category, source, received_at, status, first_response_at, \
             first_response_due_at, resolution_due_at, resolved_at FROM complaint WHERE received_at >= $1 AND received_at < $2",
            vec![from.into(), to.into()],
        )
        .await;
    rows.iter()
        .map(|r| {
            let int = |i: usize| {
                r.try_get_by_index::<i64>(i)
                    .or_else(|_| r.try_get_by_index::<i32>(i).map(i64::from))
            };
            let id = int(0).expect("id");
            Raw {
                department: r
                    .try_get_by_index::<Option<i64>>(1)
                    .or_else(|_| r.try_get_by_index::<Option<i32>>(1).map(|v| v.map(i64::from)))
                    .expect("dept"),
                municipality: int(2).expect("muni"),
                category: r.try_get_by_index(3).expect("category"),
                source: r.try_get_by_index(4).expect("source"),
                received: r.try_get_by_index(5).expect("received"),
                status: r.try_get_by_index(6).expect("status"),
                first_at: r.try_get_by_index(7).expect("first"),
                first_due: r.try_get_by_index(8).expect("first due"),
                resolution_due: r.try_get_by_index(9).expect("resolution due"),
                resolved_at: r.try_get_by_index(10).expect("resolved"),
                reopened: reopened.contains(&id),
            }
        })
        .collect()
}

/// The percentile with linear interpolation, written here independently of the gateway.
fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let pos = p * (v.len() - 1) as f64;
    let below = pos.floor() as usize;
    let above = (below + 1).min(v.len() - 1);
    v[below] * (1.0 - (pos - below as f64)) + v[above] * (pos - below as f64)
}

fn stats(values: &[f64]) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    json!({ "avg": values.iter().sum::<f64>() / values.len() as f64, "p50": pct(values, 0.5), "p90": pct(values, 0.9) })
}

/// Every figure of a group at `now`, as the test computes it.
fn expected(rows: &[&Raw], now: DateTime<Utc>) -> Value {
    let open = |r: &Raw| r.status != "RESOLVED" && r.status != "REJECTED";
    let overdue = rows
        .iter()
        .filter(|r| {
            open(r) && ((r.first_at.is_none() && r.first_due < now) || r.resolution_due < now)
        })
        .count();
    let responded: Vec<&&Raw> = rows.iter().filter(|r| r.first_at.is_some()).collect();
    let on_time = responded.iter().filter(|r| r.first_at.is_some_and(|a| a <= r.first_due)).count();
    let late_silent = rows.iter().filter(|r| r.first_at.is_none() && r.first_due < now).count();
    let judged = responded.len() + late_silent;
    let secs = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_milliseconds() as f64 / 1000.0;
    let first: Vec<f64> =
        responded.iter().map(|r| secs(r.received, r.first_at.expect("responded"))).collect();
    let resolution: Vec<f64> =
        rows.iter().filter_map(|r| r.resolved_at.map(|at| secs(r.received, at))).collect();
    let n = rows.len();
    json!({
        "received": n,
        "open": rows.iter().filter(|r| open(r)).count(),
        "overdue": overdue,
        "slaCompliance": if judged == 0 { Value::Null } else { json!(on_time as f64 / judged as f64) },
        "firstResponse": stats(&first),
        "resolution": stats(&resolution),
        "reopenedShare": if n == 0 { Value::Null } else { json!(rows.iter().filter(|r| r.reopened).count() as f64 / n as f64) },
    })
}

/// Numbers equal to 1e-6 (relative), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-6 * x.abs().max(1.0)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn local_day(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(5 * 3600).expect("UTC+5")).format("%Y-%m-%d").to_string()
}

fn key_of(r: &Raw, by: &str) -> String {
    match by {
        "DEPARTMENT" => r.department.map_or("NONE".into(), |d| d.to_string()),
        "MUNICIPALITY" => r.municipality.to_string(),
        "CATEGORY" => r.category.clone(),
        "SOURCE" => r.source.clone(),
        "DAY" => local_day(r.received),
        _ => {
            let d = r
                .received
                .with_timezone(&FixedOffset::east_opt(5 * 3600).expect("UTC+5"))
                .date_naive();
            let w = chrono::Datelike::iso_week(&d);
            format!("{}-W{:02}", w.year(), w.week())
        }
    }
}

async fn rebuild(app: &TestApp) {
    store::kpi_blocks::rebuild(app.db.db.write()).await.expect("rebuild the KPI rollup");
}

/// Asks for the KPIs and compares every row with the test's own figures (at the instant
/// before or after the request, whichever the gateway's `now` matches).
pub(crate) async fn check(
    app: &TestApp,
    token: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: &str,
    keep: impl Fn(&Raw) -> bool,
) -> Vec<Value> {
    let before = Utc::now();
    let data = app.data_as(token, KPIS, json!({ "f": { "from": from, "to": to }, "g": by })).await;
    let after = Utc::now();
    let rows = raw_rows(app, from, to).await;
    let mut groups: BTreeMap<String, Vec<&Raw>> = BTreeMap::new();
    for r in rows.iter().filter(|r| keep(r)) {
        groups.entry(key_of(r, by)).or_default().push(r);
    }
    let got = data["kpis"].as_array().expect("rows").clone();
    let keys: Vec<&str> = got.iter().map(|r| r["key"].as_str().unwrap_or("")).collect();
    let mut want: Vec<String> = groups.keys().cloned().collect();
    want.push("TOTAL".into());
    assert_eq!(keys, want, "{by}: groups");
    for row in &got[..got.len() - 1] {
        let members = &groups[row["key"].as_str().unwrap_or("")];
        let mut figures = row.clone();
        let obj = figures.as_object_mut().expect("row");
        obj.remove("key");
        obj.remove("label");
        let ok =
            same(&figures, &expected(members, before)) || same(&figures, &expected(members, after));
        assert!(ok, "{by} {}: got {figures}, want {}", row["key"], expected(members, before));
    }
    got
}

#[tokio::test]
async fn kpis_match_an_independent_computation_on_both_backends() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let to = Utc::now() + Duration::hours(1);
        for (from, by) in [
            (to - Duration::days(30), "DEPARTMENT"),
            (to - Duration::days(366), "DEPARTMENT"),
            (to - Duration::days(366), "MUNICIPALITY"),
            (to - Duration::days(120), "CATEGORY"),
            (to - Duration::days(120), "SOURCE"),
            (to - Duration::days(14), "DAY"),
            (to - Duration::days(90), "WEEK"),
        ] {
            let rows = check(&app, Some(app.operator.as_str()), from, to, by, |_| true).await;
            // The total row is the whole window.
            let all = raw_rows(&app, from, to).await;
            assert_eq!(
                rows.last().map(|r| r["received"].clone()),
                Some(json!(all.len())),
                "{backend:?} {by} total"
            );
        }
        if backend == Backend::Postgres {
            // Percentiles agree with Postgres' own percentile_cont per department.
            let from = to - Duration::days(366);
            let data =
                app.data(KPIS, json!({ "f": { "from": from, "to": to }, "g": "DEPARTMENT" })).await;
            let sql = app
                .db
                .sql(
                    "SELECT department_id::text, percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_response_at - received_at)), \
                     percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_response_at - received_at)) \
                     FROM complaint WHERE received_at >= $1 AND received_at < $2 AND first_response_at IS NOT NULL AND department_id IS NOT NULL GROUP BY department_id",
                    vec![from.into(), to.into()],
                )
                .await;
            for r in &sql {
                let key: String = r.try_get_by_index(0).expect("key");
                let (p50, p90): (f64, f64) =
                    (r.try_get_by_index(1).expect("p50"), r.try_get_by_index(2).expect("p90"));
                let row = data["kpis"]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .find(|x| x["key"] == key.as_str())
                    .expect("row");
                assert!(
                    same(&row["firstResponse"]["p50"], &json!(p50))
                        && same(&row["firstResponse"]["p90"], &json!(p90)),
                    "{key}: {row} vs {p50} {p90}"
                );
            }
        }
    }
}

const INGEST: &str = "mutation($input: [IngestComplaintInput!]!) { ingestComplaints(input: $input) { items { complaintId } } }";

#[tokio::test]
async fn edge_cases_empty_windows_no_responses_all_overdue_and_local_midnight() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 0, 7).await;
        let op = Some(app.operator.as_str());
        // An empty window: only the total row, zeros and nulls.
        let empty = check(
            &app,
            op,
            Utc::now() - Duration::days(3),
            Utc::now() - Duration::days(2),
            "DEPARTMENT",
            |_| true,
        )
        .await;
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0]["received"], 0);
        assert!(
            empty[0]["slaCompliance"].is_null()
                && empty[0]["firstResponse"].is_null()
                && empty[0]["reopenedShare"].is_null()
        );

        // Four complaints around local midnight (19:00 UTC), none answered, deadlines ahead.
        let day = (Utc::now() - Duration::days(1)).date_naive();
        let at = |h: u32, m: u32| day.and_hms_opt(h, m, 0).expect("time").and_utc();
        let items: Vec<Value> = [at(18, 30), at(18, 59), at(19, 0), at(19, 30)]
            .iter()
            .enumerate()
            .map(|(i, t)| json!({ "source": "EMAIL", "externalId": format!("e-{i}"), "text": "Нет горячей воды", "municipalityId": "1", "receivedAt": t }))
            .collect();
        app.data(INGEST, json!({ "input": items })).await;
        let (from, to) = (at(18, 0), at(20, 0));
        let days = check(&app, op, from, to, "DAY", |_| true).await;
        let keys: Vec<&str> = days.iter().map(|r| r["key"].as_str().unwrap_or("")).collect();
        assert_eq!(
            keys,
            [local_day(at(18, 30)).as_str(), local_day(at(19, 0)).as_str(), "TOTAL"],
            "two local days"
        );
        assert_eq!(
            (days[0]["received"].clone(), days[1]["received"].clone()),
            (json!(2), json!(2))
        );
        // No responses yet, deadlines 30 days ahead: nothing to judge, nothing late.
        assert!(days[2]["slaCompliance"].is_null() && days[2]["firstResponse"].is_null());
        assert_eq!((days[2]["open"].clone(), days[2]["overdue"].clone()), (json!(4), json!(0)));

        // All overdue: every deadline in the past, still unanswered. (Hand edits of the table
        // bypass the write paths, so the rollup is rebuilt after them, as an operator would.)
        app.db
            .sql(
                "UPDATE complaint SET first_response_due_at = $1, resolution_due_at = $1",
                vec![(Utc::now() - Duration::hours(1)).into()],
            )
            .await;
        rebuild(&app).await;
        let late = check(&app, op, from, to, "CATEGORY", |_| true).await;
        let total = late.last().expect("total");
        assert_eq!(
            (total["overdue"].clone(), total["slaCompliance"].clone()),
            (json!(4), json!(0.0))
        );
        // One answered in time and resolved, one reopened: figures follow.
        let ids = app.db.sql_column::<i64>("SELECT id FROM complaint ORDER BY id", vec![]).await;
        app.db
            .sql(
                "UPDATE complaint SET first_response_at = received_at, status = 'RESOLVED', resolved_at = $1 WHERE id = $2",
                vec![(Utc::now() - Duration::minutes(5)).into(), ids[0].into()],
            )
            .await;
        app.db
            .sql(
                "INSERT INTO status_event (complaint_id, from_status, to_status, actor, at) VALUES ($1, 'RESOLVED', 'REOPENED', 't', $2)",
                vec![ids[1].into(), Utc::now().into()],
            )
            .await;
        rebuild(&app).await;
        check(&app, op, from, to, "SOURCE", |_| true).await;
    }
}

#[tokio::test]
async fn each_role_gets_its_kpi_groups() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let to = Utc::now() + Duration::hours(1);
    let from = to - Duration::days(366);
    let dept = app.db.sql_i64("SELECT id FROM department WHERE code = 'health'", vec![]).await;
    let ministry = app.token(Role::Ministry, Some(dept as i32), None);
    let rows =
        check(&app, Some(&ministry), from, to, "CATEGORY", |r| r.department == Some(dept)).await;
    assert!(rows.len() >= 2, "its own rows and the total");
    let all = raw_rows(&app, from, to).await;
    assert_eq!(
        rows.last().map(|r| r["received"].clone()),
        Some(json!(all.len())),
        "the region total covers the region"
    );
    let by_dept =
        check(&app, Some(&ministry), from, to, "DEPARTMENT", |r| r.department == Some(dept)).await;
    assert_eq!(by_dept.len(), 2, "its department and the total: {by_dept:?}");

    let municipality = app.token(Role::Municipality, None, Some(1));
    let own =
        check(&app, Some(&municipality), from, to, "DEPARTMENT", |r| r.municipality == 1).await;
    assert_eq!(
        own.last().map(|r| r["received"].clone()),
        Some(json!(all.len())),
        "a municipality's region total covers the region too"
    );
    let public = check(&app, None, from, to, "MUNICIPALITY", |_| false).await;
    assert_eq!(public.len(), 1, "the public gets region totals only");
    assert_eq!(public[0]["received"], json!(all.len()));

    let vars = |dept: i64| json!({ "f": { "from": from, "to": to, "departmentId": dept.to_string() }, "g": "DAY" });
    let (_, resp) = app.gql_as(Some(&ministry), KPIS, vars(dept + 1)).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"), "another department's KPIs");
    let integration = app.token(Role::Integration, None, None);
    let (_, resp) = app.gql_as(Some(&integration), KPIS, vars(dept)).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    let resp = app.gql(KPIS, json!({ "f": { "from": to, "to": from }, "g": "DAY" })).await;
    assert_eq!(error_code(&resp), Some("BAD_USER_INPUT"));
}

/// Every block of the rollup (its parts together) as sorted 48-byte entries, and the most
/// parts a block has.
async fn blocks(app: &TestApp) -> (BTreeMap<(String, i32), Vec<Vec<u8>>>, usize) {
    let rows = entity::kpi_block::Entity::find().all(app.db.db.write()).await.expect("blocks");
    let mut blocks: BTreeMap<(String, i32), Vec<Vec<u8>>> = BTreeMap::new();
    let mut parts: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for b in rows {
        let key = (b.day, b.municipality_id);
        *parts.entry(key.clone()).or_default() += 1;
        blocks.entry(key).or_default().extend(b.entries.chunks(48).map(<[u8]>::to_vec));
    }
    blocks.values_mut().for_each(|entries| entries.sort());
    blocks.retain(|_, entries| !entries.is_empty());
    (blocks, parts.into_values().max().unwrap_or(0))
}

#[tokio::test]
async fn the_rollup_kept_by_every_write_path_equals_one_rebuilt_from_the_rows() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let items: Vec<Value> = (0..5)
            .map(|i| json!({ "source": "VK", "externalId": format!("roll-{i}"), "text": "Нет горячей воды в доме", "municipalityId": "2", "receivedAt": now - Duration::hours(i) }))
            .collect();
        let created = app.data(INGEST, json!({ "input": items })).await;
        let ids: Vec<i64> = created["ingestComplaints"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["complaintId"].as_str().and_then(|s| s.parse().ok()).expect("created"))
            .collect();
        let dept_of = |id: i64| {
            let db = &app.db;
            async move {
                db.sql_i64("SELECT department_id FROM complaint WHERE id = $1", vec![id.into()])
                    .await as i32
            }
        };
        let version = |id: i64| {
            let db = &app.db;
            async move {
                db.sql_i64("SELECT version FROM complaint WHERE id = $1", vec![id.into()]).await
            }
        };
        let dept = dept_of(ids[0]).await;
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let other = app
            .db
            .sql_i64("SELECT MIN(id) FROM department WHERE id <> $1", vec![dept.into()])
            .await as i32;
        let respond = "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"Ответ\", public: true, expectedVersion: $v) { version } }";
        // The first: worked on, answered, resolved, reopened and resolved again.
        for step in [
            "IN_PROGRESS",
            "RESPOND",
            "ANSWERED",
            "RESOLVED",
            "REOPENED",
            "IN_PROGRESS",
            "ANSWERED",
            "RESOLVED",
        ] {
            let v = version(ids[0]).await;
            let out = if step == "RESPOND" {
                app.data_as(Some(&ministry), respond, json!({ "id": ids[0].to_string(), "v": v }))
                    .await
            } else {
                move_to(&app, &ministry, ids[0], dept, step, v).await
            };
            assert!(out.get("errors").is_none(), "{step}: {out}");
        }
        // The second moves to another department, the third is rejected, the fourth answered.
        move_to(&app, &ministry, ids[1], other, "ASSIGNED", version(ids[1]).await).await;
        move_to(&app, &ministry, ids[2], dept, "REJECTED", version(ids[2]).await).await;
        app.data_as(
            Some(&ministry),
            respond,
            json!({ "id": ids[3].to_string(), "v": version(ids[3]).await }),
        )
        .await;
        // Seeded complaints of older days: one reassigned, one resolved one reopened.
        let old = app
            .db
            .sql_i64(
                "SELECT MIN(id) FROM complaint WHERE status = 'ASSIGNED' AND department_id <> $1",
                vec![other.into()],
            )
            .await;
        move_to(&app, &ministry, old, other, "ASSIGNED", version(old).await).await;
        let resolved =
            app.db.sql_i64("SELECT MIN(id) FROM complaint WHERE status = 'RESOLVED'", vec![]).await;
        let reopened =
            move_to(&app, &ministry, resolved, 0, "REOPENED", version(resolved).await).await;
        assert!(reopened.get("errors").is_none(), "{reopened}");

        // A busy day: 1,200 complaints of one municipality fill more than one part.
        let busy = now - Duration::days(2);
        for batch in 0..2 {
            let items: Vec<Value> = (0..600)
                .map(|i| json!({ "source": "TELEGRAM", "externalId": format!("busy-{batch}-{i}"), "text": "Не вывезли мусор", "municipalityId": "3", "receivedAt": busy + Duration::seconds(i) }))
                .collect();
            app.data(INGEST, json!({ "input": items })).await;
        }

        // Writers at once on the same blocks: none of their entries is lost.
        let concurrent = (0..8).map(|w| {
            let items: Vec<Value> = (0..40)
                .map(|i| json!({ "source": "OK", "externalId": format!("at-once-{w}-{i}"), "text": "Не работает освещение", "municipalityId": "3", "receivedAt": busy + Duration::minutes(i) }))
                .collect();
            app.gql(INGEST, json!({ "input": items }))
        });
        for resp in futures_util::future::join_all(concurrent).await {
            assert!(resp.get("errors").is_none(), "{backend:?}: {resp}");
        }

        let (kept, most_parts) = blocks(&app).await;
        assert!(most_parts >= 2, "{backend:?}: the busy day spans parts");
        let total: usize = kept.values().map(Vec::len).sum();
        assert_eq!(total as i64, app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await);
        rebuild(&app).await;
        let (rebuilt, _) = blocks(&app).await;
        for (key, entries) in &rebuilt {
            assert_eq!(kept.get(key), Some(entries), "{backend:?}: block {key:?}");
        }
        assert_eq!(kept.len(), rebuilt.len(), "{backend:?}: the same blocks");
        // And the figures read from it match the raw rows.
        check(
            &app,
            Some(&app.operator),
            now - Duration::days(366),
            now + Duration::hours(1),
            "DEPARTMENT",
            |_| true,
        )
        .await;
    }
}

/// A gateway keeps the rollup parts it has read and checks each against its generation: a
/// reassignment and a rejection made through another replica, an ingest there, and a hand
/// edit repaired by a rebuild each show in its next KPIs and counts, which equal the rows'.
#[tokio::test]
async fn kept_rollup_parts_follow_every_write_wherever_it_was_made() {
    for backend in BOTH {
        // Two replicas as in production: the KPI answers they cache in Redis go with a write,
        // and the next answer is computed from the parts the reading replica kept.
        let app = TestApp::spawn_configured(backend, TEST_COMPLAINTS, |c| {
            c.cache_operations = false;
            c.redis_url = Some("redis://127.0.0.1:6379".into());
        })
        .await;
        let other = app.another().await;
        let to = Utc::now() + Duration::hours(1);
        let from = to - Duration::days(366);
        let op = Some(app.operator.as_str());
        let before = check(&app, op, from, to, "DEPARTMENT", |_| true).await;
        let version = |id: i64| {
            let db = &app.db;
            async move {
                db.sql_i64("SELECT version FROM complaint WHERE id = $1", vec![id.into()]).await
            }
        };
        let open = "SELECT MIN(id) FROM complaint WHERE status IN ('ASSIGNED', 'IN_PROGRESS')";
        let moved = app.db.sql_i64(open, vec![]).await;
        let dept = app
            .db
            .sql_i64(
                "SELECT MIN(d.id) FROM department d, complaint c WHERE c.id = $1 AND d.id <> c.department_id",
                vec![moved.into()],
            )
            .await as i32;
        let out = move_to(&other, "", moved, dept, "ASSIGNED", version(moved).await).await;
        assert!(out.get("errors").is_none(), "reassigned: {out}");
        let rejected = app.db.sql_i64(&format!("{open} AND id > {moved}"), vec![]).await;
        let out = move_to(&other, "", rejected, dept, "REJECTED", version(rejected).await).await;
        assert!(out.get("errors").is_none(), "rejected: {out}");
        let item = json!({ "source": "VK", "externalId": "kept-parts", "text": "Нет горячей воды в доме", "municipalityId": "2", "receivedAt": Utc::now() });
        other.data(INGEST, json!({ "input": [item] })).await;
        let after = check(&app, op, from, to, "DEPARTMENT", |_| true).await;
        assert_ne!(before, after, "{backend:?}: the writes changed the figures");
        counts_equal_sql(&app, dept, "after the writes").await;
        // By hand, past the gateway: the rollup is behind until a rebuild gives it new parts.
        let edit = format!(
            "UPDATE complaint SET department_id = {dept} WHERE id = (SELECT MAX(id) FROM complaint WHERE department_id <> {dept})"
        );
        app.db.sql_i64(&format!("{edit} RETURNING 0"), vec![]).await;
        rebuild(&app).await;
        // A rebuild announces nothing to the answer cache: a window not asked before.
        let (from, to) = (from + Duration::seconds(1), to + Duration::seconds(1));
        let rebuilt = check(&app, op, from, to, "DEPARTMENT", |_| true).await;
        assert_ne!(after, rebuilt, "{backend:?}: the rebuild changed the figures");
        // The hand edit gave `dept` a complaint with no assignment row: still in its scope.
        counts_equal_sql(&app, dept, "after the hand edit").await;
    }
}

/// `totalCount` (answered from the rollup, from index entries or in SQL) equals SQL over the
/// rows, for a region-wide, a municipality's and a ministry's token and a few filters.
async fn counts_equal_sql(app: &TestApp, dept: i32, when: &str) {
    const COUNT: &str =
        "query($f: ComplaintFilter) { complaints(filter: $f, first: 1) { totalCount } }";
    let since = Utc::now() - Duration::days(40);
    let principals = [
        (app.token(Role::Governor, None, None), "TRUE".to_owned()),
        (app.token(Role::Municipality, None, Some(2)), "municipality_id = 2".to_owned()),
        (
            app.token(Role::Ministry, Some(dept), None),
            format!(
                "(department_id = {dept} OR id IN (SELECT complaint_id FROM assignment WHERE department_id = {dept}))"
            ),
        ),
    ];
    let filters = [
        (json!({}), "TRUE".to_owned()),
        (json!({ "departmentId": dept.to_string() }), format!("department_id = {dept}")),
        (
            json!({ "municipalityId": "2", "category": "HOUSING_UTILITIES" }),
            "municipality_id = 2 AND category = 'HOUSING_UTILITIES'".to_owned(),
        ),
        (json!({ "receivedFrom": since }), "received_at >= $1".to_owned()),
    ];
    for (token, scope) in &principals {
        for (filter, sql) in &filters {
            let data = app.data_as(Some(token), COUNT, json!({ "f": filter })).await;
            let query = format!("SELECT COUNT(*) FROM complaint WHERE {scope} AND {sql}");
            let values = if sql.contains("$1") { vec![since.into()] } else { vec![] };
            let want = app.db.sql_i64(&query, values).await;
            let got = &data["complaints"]["totalCount"];
            assert_eq!(got, &json!(want), "{when}: {scope} AND {filter}");
        }
    }
}

/// The whole days' durations are kept sorted a month at a time between requests: windows a
/// second and an hour later (new edges, the same whole days), other groupings, a ministry's
/// groups and region total, and the first window again after a complaint of a whole day is
/// resolved (its month sorted again, the others kept) each equal the rows.
#[tokio::test]
async fn sorted_months_kept_between_requests_follow_moved_windows_roles_and_writes() {
    for backend in BOTH {
        let app = TestApp::spawn_configured(backend, TEST_COMPLAINTS, |c| {
            c.cache_operations = false;
        })
        .await;
        let op = Some(app.operator.as_str());
        let to = Utc::now() + Duration::hours(1);
        let from = to - Duration::days(366);
        let before = check(&app, op, from, to, "DEPARTMENT", |_| true).await;
        for shift in [Duration::seconds(1), Duration::seconds(2), Duration::hours(1)] {
            check(&app, op, from + shift, to + shift, "DEPARTMENT", |_| true).await;
        }
        check(&app, op, from, to, "MUNICIPALITY", |_| true).await;
        check(&app, op, from, to, "WEEK", |_| true).await;
        // An answered complaint of a day well inside the window, resolved by its ministry.
        let inside = "SELECT MIN(id) FROM complaint WHERE status = 'ANSWERED' AND received_at > $1 AND received_at < $2";
        let (after_first, before_last) = (from + Duration::days(2), to - Duration::days(2));
        let id = app.db.sql_i64(inside, vec![after_first.into(), before_last.into()]).await;
        let sql = "SELECT department_id FROM complaint WHERE id = $1";
        let dept = app.db.sql_i64(sql, vec![id.into()]).await as i32;
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let own = |r: &Raw| r.department == Some(i64::from(dept));
        check(&app, Some(&ministry), from, to, "DEPARTMENT", own).await;
        let version =
            app.db.sql_i64("SELECT version FROM complaint WHERE id = $1", vec![id.into()]);
        let out = move_to(&app, &ministry, id, dept, "RESOLVED", version.await).await;
        assert!(out.get("errors").is_none(), "{backend:?}: resolved: {out}");
        let after = check(&app, op, from, to, "DEPARTMENT", |_| true).await;
        let resolution = |rows: &[Value]| {
            let row = rows.iter().find(|r| r["key"] == dept.to_string().as_str()).cloned();
            row.map(|r| r["resolution"].clone())
        };
        assert_ne!(resolution(&before), resolution(&after), "{backend:?}: one more resolution");
        check(&app, Some(&ministry), from, to, "DEPARTMENT", own).await;
        check(&app, op, from + Duration::hours(1), to + Duration::hours(1), "DEPARTMENT", |_| true)
            .await;
    }
}
