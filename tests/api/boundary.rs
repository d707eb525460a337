//! The access boundary as a matrix: for every principal (governor, operator, three ministries,
//! three municipalities, public, integration), every complaint filter field alone and in
//! pairs, and every order, `totalCount` and the ids of the first and the last page equal a
//! direct SQL query of "scope AND filter" written here — on Postgres and on SQLite. A filter
//! that widened the scope (it once did: the scope was an OR group the filters were added
//! into) fails here at once.
use crate::helpers::{BOTH, Backend, TestApp, TestDb, error_code, node_ids};
use chrono::{DateTime, Duration, Utc};
use cur_gateway::auth::Role;
use futures_util::{StreamExt, stream};
use sea_orm::Value as SqlValue;
use serde_json::{Value, json};

/// Rows per page in the matrix (small, so the first and last pages differ).
const PAGE: usize = 4;
/// Requests in flight at once.
const PARALLEL: usize = 4;

const PAGES: &str = r#"
query Pages($filter: ComplaintFilter, $order: ComplaintOrder, $n: Int) {
  head: complaints(filter: $filter, orderBy: $order, first: $n) { totalCount edges { node { id } } }
  tail: complaints(filter: $filter, orderBy: $order, last: $n) { edges { node { id } } }
}"#;

/// The matrix's kinds of principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Governor and operator: every row.
    Region,
    Ministry(i32),
    Municipality(i32),
    Public,
    Integration,
}

/// Who asks, and the rows the roles matrix gives them, in SQL written for this test.
pub struct Asker {
    pub name: String,
    pub kind: Kind,
    pub token: Option<String>,
    pub scope_sql: String,
    /// The public may not search texts (masking would be pointless).
    pub may_search: bool,
}

/// One filter: its GraphQL input and the same condition in SQL (`:now`, `:from`, `:to` bind
/// the instants); `search` is matched here in Rust over number, text and address.
#[derive(Clone)]
pub(crate) struct FilterCase {
    pub(crate) name: String,
    pub(crate) input: Value,
    pub(crate) sql: String,
    pub(crate) search: Option<String>,
}

/// The instants the filters use.
#[derive(Clone, Copy)]
pub(crate) struct Instants {
    pub(crate) now: DateTime<Utc>,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
}

/// `sql` with `:now`/`:from`/`:to` replaced by positional placeholders, and their values.
pub(crate) fn bind(sql: &str, at: Instants) -> (String, Vec<SqlValue>) {
    let mut out = sql.to_owned();
    let mut values = Vec::new();
    for (name, value) in [(":now", at.now), (":from", at.from), (":to", at.to)] {
        if out.contains(name) {
            values.push(SqlValue::from(value));
            out = out.replace(name, &format!("${}", values.len()));
        }
    }
    (out, values)
}

fn ministry_scope(dept: i32) -> String {
    format!(
        "(department_id = {dept} OR id IN (SELECT complaint_id FROM assignment WHERE department_id = {dept}))"
    )
}

/// Integer column values from a query.
pub async fn ints(app: &TestApp, sql: &str) -> Vec<i32> {
    app.db.sql_column::<i32>(sql, vec![]).await
}

/// The ten principals of the matrix, chosen from the seeded data: the ministry whose
/// complaints were most often handed on, the busiest one and a middling one; the busiest
/// municipality, the second and a middling one.
pub async fn askers(app: &TestApp) -> Vec<Asker> {
    let reassigned = ints(
        app,
        "SELECT a.department_id FROM assignment a JOIN complaint c ON c.id = a.complaint_id \
         WHERE c.department_id IS NULL OR c.department_id <> a.department_id \
         GROUP BY a.department_id ORDER BY COUNT(*) DESC, a.department_id LIMIT 1",
    )
    .await[0];
    let by_size = ints(
        app,
        "SELECT department_id FROM complaint WHERE department_id IS NOT NULL \
         GROUP BY department_id ORDER BY COUNT(*) DESC, department_id",
    )
    .await;
    let busiest = *by_size.iter().find(|d| **d != reassigned).expect("a second department");
    let others: Vec<i32> =
        by_size.iter().copied().filter(|d| ![reassigned, busiest].contains(d)).collect();
    let small = others[others.len() / 2];
    let munis = ints(
        app,
        "SELECT municipality_id FROM complaint GROUP BY municipality_id \
         ORDER BY COUNT(*) DESC, municipality_id",
    )
    .await;
    let (m1, m2, m3) = (munis[0], munis[1], munis[munis.len() / 2]);
    let moved = app
        .db
        .sql_i64(&format!("SELECT COUNT(*) FROM complaint WHERE {} AND (department_id IS NULL OR department_id <> {reassigned})", ministry_scope(reassigned)), vec![])
        .await;
    assert!(moved >= 5, "the reassigned ministry has only {moved} handed-on complaints");
    let mut out = vec![
        Asker {
            name: "governor".into(),
            kind: Kind::Region,
            token: Some(app.token(Role::Governor, None, None)),
            scope_sql: "1 = 1".into(),
            may_search: true,
        },
        Asker {
            name: "operator".into(),
            kind: Kind::Region,
            token: Some(app.token(Role::Operator, None, None)),
            scope_sql: "1 = 1".into(),
            may_search: true,
        },
    ];
    for dept in [reassigned, busiest, small] {
        out.push(Asker {
            name: format!("ministry {dept}"),
            kind: Kind::Ministry(dept),
            token: Some(app.token(Role::Ministry, Some(dept), None)),
            scope_sql: ministry_scope(dept),
            may_search: true,
        });
    }
    for muni in [m1, m2, m3] {
        out.push(Asker {
            name: format!("municipality {muni}"),
            kind: Kind::Municipality(muni),
            token: Some(app.token(Role::Municipality, None, Some(muni))),
            scope_sql: format!("municipality_id = {muni}"),
            may_search: true,
        });
    }
    out.push(Asker {
        name: "public".into(),
        kind: Kind::Public,
        token: None,
        scope_sql: "is_public = TRUE".into(),
        may_search: false,
    });
    out.push(Asker {
        name: "integration".into(),
        kind: Kind::Integration,
        token: Some(app.token(Role::Integration, None, None)),
        scope_sql: "1 = 0".into(),
        may_search: true,
    });
    out
}

/// Every filter field with a value that matches rows of the test region.
pub(crate) async fn single_filters(app: &TestApp) -> Vec<FilterCase> {
    let muni = ints(
        app,
        "SELECT municipality_id FROM complaint GROUP BY municipality_id \
         ORDER BY COUNT(*) DESC, municipality_id LIMIT 1",
    )
    .await[0];
    // A department many complaints were handed on from: the reassigned ministry filtering by
    // another department must see only what it ever held.
    let dept = ints(
        app,
        "SELECT department_id FROM complaint WHERE department_id IS NOT NULL \
         GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1",
    )
    .await[0];
    let overdue = "(status NOT IN ('RESOLVED', 'REJECTED') AND \
                   ((first_response_at IS NULL AND first_response_due_at < :now) \
                    OR resolution_due_at < :now))";
    let case = |name: &str, input: Value, sql: &str| FilterCase {
        name: name.into(),
        input,
        sql: sql.into(),
        search: None,
    };
    vec![
        case(
            "municipalityId",
            json!({ "municipalityId": muni.to_string() }),
            &format!("municipality_id = {muni}"),
        ),
        case(
            "departmentId",
            json!({ "departmentId": dept.to_string() }),
            &format!("department_id = {dept}"),
        ),
        case("category", json!({ "category": "ROADS" }), "category = 'ROADS'"),
        case(
            "status",
            json!({ "status": ["ASSIGNED", "IN_PROGRESS", "RESOLVED"] }),
            "status IN ('ASSIGNED', 'IN_PROGRESS', 'RESOLVED')",
        ),
        case("source", json!({ "source": "VK" }), "source = 'VK'"),
        case("receivedFrom", json!({ "receivedFrom": ":from" }), "received_at >= :from"),
        case("receivedTo", json!({ "receivedTo": ":to" }), "received_at < :to"),
        case("overdue=true", json!({ "overdue": true }), overdue),
        case("overdue=false", json!({ "overdue": false }), &format!("NOT {overdue}")),
        FilterCase {
            name: "search".into(),
            input: json!({ "search": "ЛЕНИНА" }),
            sql: "1 = 1".into(),
            search: Some("ленина".into()),
        },
    ]
}

/// No filter, each field alone, and each pair of fields (overdue both ways).
pub(crate) fn filter_cases(singles: &[FilterCase]) -> Vec<FilterCase> {
    let mut out = vec![FilterCase {
        name: "none".into(),
        input: json!({}),
        sql: "1 = 1".into(),
        search: None,
    }];
    out.extend(singles.iter().cloned());
    let field = |c: &FilterCase| c.name.split('=').next().unwrap_or_default().to_owned();
    for (i, a) in singles.iter().enumerate() {
        for b in &singles[i + 1..] {
            if field(a) == field(b) {
                continue;
            }
            let mut input = a.input.clone();
            for (k, v) in b.input.as_object().expect("filter object") {
                input[k] = v.clone();
            }
            out.push(FilterCase {
                name: format!("{} + {}", a.name, b.name),
                input,
                sql: format!("{} AND {}", a.sql, b.sql),
                search: a.search.clone().or(b.search.clone()),
            });
        }
    }
    out
}

/// The filter input with its instants written in.
pub(crate) fn with_instants(input: &Value, at: Instants) -> Value {
    let text = input.to_string();
    let text = text.replace("\":from\"", &format!("\"{}\"", at.from.to_rfc3339()));
    let text = text.replace("\":to\"", &format!("\"{}\"", at.to.to_rfc3339()));
    serde_json::from_str(&text).expect("filter JSON")
}

const ORDERS: [(&str, &str); 3] =
    [("RECEIVED_AT", "received_at"), ("RESOLUTION_DUE_AT", "resolution_due_at"), ("NUMBER", "id")];

/// Ids of "scope AND filter" in the order, straight from SQL (search applied here).
pub(crate) async fn expected_ids(
    db: &TestDb,
    asker: &Asker,
    filter: &FilterCase,
    order: (&str, &str),
    ascending: bool,
    at: Instants,
) -> Vec<i64> {
    let dir = if ascending { "ASC" } else { "DESC" };
    let (sql, values) = bind(
        &format!(
            "SELECT id, number, text, address FROM complaint WHERE ({}) AND ({}) \
             ORDER BY {col} {dir}, id {dir}",
            asker.scope_sql,
            filter.sql,
            col = order.1
        ),
        at,
    );
    let rows = db.sql(&sql, values).await;
    rows.iter()
        .filter(|r| {
            let Some(needle) = &filter.search else { return true };
            let number: String = r.try_get_by_index(1).expect("number");
            let text: String = r.try_get_by_index(2).expect("text");
            let address: Option<String> = r.try_get_by_index(3).expect("address");
            let all = format!("{number}\n{text}\n{}", address.unwrap_or_default()).to_lowercase();
            all.contains(needle.as_str())
        })
        .map(|r| r.try_get_by_index::<i64>(0).expect("id"))
        .collect()
}

/// Whether a cell's request was answered: a search by a principal who may not search is
/// refused (FORBIDDEN, no data); every other cell is a 200 without errors.
pub(crate) fn answered(
    asker: &Asker,
    filter: &FilterCase,
    status: u16,
    resp: &Value,
    what: &str,
) -> bool {
    if filter.search.is_some() && !asker.may_search {
        assert_eq!(error_code(resp), Some("FORBIDDEN"), "{what}: {resp}");
        assert!(resp["data"].is_null(), "{what}: {resp}");
        return false;
    }
    assert_eq!(status, 200, "{what}: {resp}");
    assert!(resp.get("errors").is_none(), "{what}: {resp}");
    true
}

/// One cell: returns whether it held rows (to show the matrix is not vacuous).
async fn check_cell(
    app: &TestApp,
    backend: Backend,
    asker: &Asker,
    filter: &FilterCase,
    order: (&str, &str),
    ascending: bool,
    at: Instants,
) -> bool {
    let what = format!(
        "{backend:?} / {} / filter {} / {} {}",
        asker.name,
        filter.name,
        order.0,
        if ascending { "ASC" } else { "DESC" }
    );
    let variables = json!({
        "filter": with_instants(&filter.input, at),
        "order": { "field": order.0, "direction": if ascending { "ASC" } else { "DESC" } },
        "n": PAGE,
    });
    let (status, resp) = app.gql_as(asker.token.as_deref(), PAGES, variables).await;
    if !answered(asker, filter, status, &resp, &what) {
        return false;
    }
    let ids = expected_ids(&app.db, asker, filter, order, ascending, at).await;
    let data = &resp["data"];
    assert_eq!(data["head"]["totalCount"], ids.len(), "{what}: totalCount");
    let head: Vec<i64> = ids.iter().take(PAGE).copied().collect();
    let tail: Vec<i64> = ids[ids.len().saturating_sub(PAGE)..].to_vec();
    assert_eq!(node_ids(&data["head"]), head, "{what}: first page");
    assert_eq!(node_ids(&data["tail"]), tail, "{what}: last page");
    !ids.is_empty()
}

#[tokio::test]
async fn no_filter_or_order_reads_outside_the_scope_of_any_role() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let at = Instants { now, from: now - Duration::days(60), to: now - Duration::days(20) };
        let askers = askers(&app).await;
        let filters = filter_cases(&single_filters(&app).await);
        let mut cells = Vec::new();
        for asker in &askers {
            for filter in &filters {
                for order in ORDERS {
                    for ascending in [true, false] {
                        cells.push((asker, filter, order, ascending));
                    }
                }
            }
        }
        let total = cells.len();
        let results: Vec<(String, bool)> = stream::iter(cells)
            .map(|(asker, filter, order, ascending)| {
                let app = &app;
                async move {
                    let held = check_cell(app, backend, asker, filter, order, ascending, at).await;
                    (asker.name.clone(), held)
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        // Every principal but the integration account reads rows in a third of its cells or
        // more, so the comparisons above compared something.
        for asker in askers.iter().filter(|a| a.kind != Kind::Integration) {
            let mine: Vec<bool> =
                results.iter().filter(|(n, _)| *n == asker.name).map(|(_, h)| *h).collect();
            let held = mine.iter().filter(|h| **h).count();
            assert!(
                held * 3 > mine.len(),
                "{backend:?} {}: {held}/{} cells",
                asker.name,
                mine.len()
            );
        }
        println!(
            "{backend:?}: {total} cells ({} principals × {} filters × {} orders)",
            askers.len(),
            filters.len(),
            ORDERS.len() * 2
        );
    }
}

/// Source files under `src/`, with their paths relative to the crate.
fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).expect("inside the crate");
            out.push((rel.display().to_string(), text));
        }
    }
}

/// A tripwire beside the matrix: complaint rows are selected only through the scope
/// (`store/scope.rs`), and the rows hanging off complaints only by the scoped history reads
/// (and the KPI rollup's rebuild, which reads every row for the gateway itself).
#[test]
fn complaint_rows_are_selected_only_through_the_scope() {
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 40, "read {} files", files.len());
    let allowed: [(&str, &[&str]); 5] = [
        ("complaint::Entity::find", &["src/store/scope.rs"]),
        ("assignment::Entity::find", &["src/store/history.rs"]),
        ("status_event::Entity::find", &["src/store/history.rs", "src/store/kpi_blocks.rs"]),
        ("response::Entity::find", &["src/store/history.rs"]),
        ("audit_record::Entity::find", &["src/store/audit.rs"]),
    ];
    for (call, places) in allowed {
        for (path, text) in &files {
            if text.contains(call) && !places.contains(&path.as_str()) {
                panic!("{path} calls {call}: start complaint reads from store::scope::Scoped");
            }
        }
    }
    // Raw SQL over complaints: only the bulk loader's next-id query, and the scope's own count
    // of a ministry's whole scope.
    for (path, text) in &files {
        if text.contains("FROM complaint ") || text.contains("FROM complaint\"") {
            let allowed = ["src/store/bulk.rs", "src/store/scope.rs"];
            assert!(allowed.contains(&path.as_str()), "{path} reads complaints in raw SQL");
        }
    }
}
