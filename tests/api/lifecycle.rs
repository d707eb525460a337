//! The lifecycle mutations: every transition (from × to) against a table written here,
//! optimistic locking, concurrent writers, role rules, and a complaint's whole way from
//! ingestion to resolution.
use crate::helpers::{BOTH, Backend, TestApp, error_code};
use cur_gateway::auth::Role;
use serde_json::{Value, json};

const STATES: [&str; 7] =
    ["NEW", "ASSIGNED", "IN_PROGRESS", "ANSWERED", "RESOLVED", "REJECTED", "REOPENED"];

/// Allowed transitions, written out by hand from DESIGN.md's lifecycle (rows: from, columns:
/// to, in the order of `STATES`).
const ALLOWED: [[bool; 7]; 7] = [
    //  NEW    ASSIGN  IN_PR  ANSW   RESOL  REJ    REOPEN
    [false, true, false, false, false, true, false], // NEW
    [false, true, true, false, false, true, false],  // ASSIGNED
    [false, true, false, true, false, true, false],  // IN_PROGRESS
    [false, true, false, false, true, false, true],  // ANSWERED
    [false, false, false, false, false, false, true], // RESOLVED
    [false, false, false, false, false, false, false], // REJECTED
    [false, true, true, false, false, true, false],  // REOPENED
];

const FIELDS: &str = "id status version department { id } history { from to comment }";

/// Runs the mutation that moves complaint `id` to `to`, as the role that may do it.
pub(crate) async fn move_to(
    app: &TestApp,
    ministry: &str,
    id: i64,
    dept: i32,
    to: &str,
    version: i64,
) -> Value {
    let id = id.to_string();
    let (token, query, vars) = match to {
        "ASSIGNED" => (
            None,
            format!(
                "mutation($id: ID!, $d: ID!, $v: Int!) {{ assignComplaint(id: $id, departmentId: $d, expectedVersion: $v, reason: \"по подведомственности\") {{ {FIELDS} }} }}"
            ),
            json!({ "id": id, "d": dept.to_string(), "v": version }),
        ),
        "REJECTED" => (
            None,
            format!(
                "mutation($id: ID!, $v: Int!) {{ rejectComplaint(id: $id, reason: \"спам\", expectedVersion: $v) {{ {FIELDS} }} }}"
            ),
            json!({ "id": id, "v": version }),
        ),
        "IN_PROGRESS" | "ANSWERED" | "RESOLVED" => (
            Some(ministry),
            format!(
                "mutation($id: ID!, $s: ComplaintStatus!, $v: Int!) {{ changeComplaintStatus(id: $id, status: $s, expectedVersion: $v) {{ {FIELDS} }} }}"
            ),
            json!({ "id": id, "s": to, "v": version }),
        ),
        _ => (
            None,
            format!(
                "mutation($id: ID!, $s: ComplaintStatus!, $v: Int!) {{ changeComplaintStatus(id: $id, status: $s, expectedVersion: $v) {{ {FIELDS} }} }}"
            ),
            json!({ "id": id, "s": to, "v": version }),
        ),
    };
    let token = token.unwrap_or(&app.operator);
    app.gql_as(Some(token), &query, vars).await.1
}

#[tokio::test]
async fn every_transition_is_allowed_or_refused_as_the_table_says() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 30, 7).await;
        let id = app.db.sql_i64("SELECT MIN(id) FROM complaint", vec![]).await;
        let dept =
            app.db.sql_i64("SELECT id FROM department WHERE code = 'health'", vec![]).await as i32;
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let mut checked = 0;
        for (f, from) in STATES.iter().enumerate() {
            for (t, to) in STATES.iter().enumerate() {
                app.db
                    .sql(
                        "UPDATE complaint SET status = $1, department_id = $2, version = 1, resolved_at = NULL WHERE id = $3",
                        vec![(*from).into(), dept.into(), id.into()],
                    )
                    .await;
                let events = app
                    .db
                    .sql_i64(
                        &format!("SELECT COUNT(*) FROM status_event WHERE complaint_id = {id}"),
                        vec![],
                    )
                    .await;
                let resp = move_to(&app, &ministry, id, dept, to, 1).await;
                let version = app
                    .db
                    .sql_i64(&format!("SELECT version FROM complaint WHERE id = {id}"), vec![])
                    .await;
                let after = app
                    .db
                    .sql_i64(
                        &format!("SELECT COUNT(*) FROM status_event WHERE complaint_id = {id}"),
                        vec![],
                    )
                    .await;
                let status = app
                    .db
                    .sql_column::<String>(
                        &format!("SELECT status FROM complaint WHERE id = {id}"),
                        vec![],
                    )
                    .await;
                if ALLOWED[f][t] {
                    assert!(resp["errors"].is_null(), "{backend:?} {from} -> {to}: {resp}");
                    assert_eq!(version, 2, "{from} -> {to}");
                    assert_eq!(status, [*to]);
                    assert_eq!(after, events + 1, "{from} -> {to} writes one event");
                    let last = resp["data"]
                        .as_object()
                        .and_then(|o| o.values().next())
                        .map(|c| c["history"].as_array().and_then(|h| h.last()).cloned());
                    let last = last.flatten().expect("history");
                    assert_eq!(
                        (last["from"].as_str(), last["to"].as_str()),
                        (Some(*from), Some(*to))
                    );
                } else {
                    assert_eq!(
                        error_code(&resp),
                        Some("INVALID_TRANSITION"),
                        "{backend:?} {from} -> {to}: {resp}"
                    );
                    assert_eq!(
                        (version, after, status),
                        (1, events, vec![(*from).to_owned()]),
                        "{from} -> {to} changed nothing"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
    }
}

const START: &str = "mutation($id: ID!, $v: Int!) { changeComplaintStatus(id: $id, status: IN_PROGRESS, expectedVersion: $v, comment: \"взято в работу\") { version status } }";

#[tokio::test]
async fn stale_versions_conflict_and_concurrent_writers_get_one_winner() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 30, 7).await;
        let dept =
            app.db.sql_i64("SELECT id FROM department WHERE code = 'health'", vec![]).await as i32;
        let id = app.db.sql_i64("SELECT MIN(id) FROM complaint", vec![]).await;
        app.db
            .sql("UPDATE complaint SET status = 'ASSIGNED', department_id = $1, version = 5 WHERE id = $2", vec![dept.into(), id.into()])
            .await;
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let vars = |v: i64| json!({ "id": id.to_string(), "v": v });
        let starts_sql = format!(
            "SELECT COUNT(*) FROM status_event WHERE complaint_id = {id} AND to_status = 'IN_PROGRESS'"
        );
        let starts_before = app.db.sql_i64(&starts_sql, vec![]).await;

        let (_, stale) = app.gql_as(Some(&ministry), START, vars(4)).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"), "{stale}");
        assert!(stale["errors"][0]["message"].as_str().unwrap_or("").contains("version 5"));

        let runs = (0..8).map(|_| app.gql_as(Some(&ministry), START, vars(5)));
        let answers = futures_util::future::join_all(runs).await;
        let winners = answers.iter().filter(|(_, a)| a["errors"].is_null()).count();
        let conflicts = answers.iter().filter(|(_, a)| error_code(a) == Some("CONFLICT")).count();
        assert_eq!((winners, conflicts), (1, 7), "{backend:?}: {answers:?}");
        let version =
            app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {id}"), vec![]).await;
        assert_eq!(version, 6);
        let starts = app.db.sql_i64(&starts_sql, vec![]).await;
        assert_eq!(starts, starts_before + 1, "{backend:?}: one winner, one event");
    }
}

#[tokio::test]
async fn roles_act_only_where_the_matrix_lets_them() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let health =
        app.db.sql_i64("SELECT id FROM department WHERE code = 'health'", vec![]).await as i32;
    let ministry = app.token(Role::Ministry, Some(health), None);
    // A complaint the ministry once had but that moved on: readable, not actionable.
    let moved = app
        .db
        .sql_i64(
            &format!(
                "SELECT c.id FROM complaint c JOIN assignment a ON a.complaint_id = c.id \
             WHERE a.department_id = {health} AND c.department_id <> {health} ORDER BY c.id LIMIT 1"
            ),
            vec![],
        )
        .await;
    app.db
        .sql(&format!("UPDATE complaint SET status = 'IN_PROGRESS' WHERE id = {moved}"), vec![])
        .await;
    let version =
        app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {moved}"), vec![]).await;
    let respond = "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"Ответ\", public: true, expectedVersion: $v) { id } }";
    let (_, resp) = app
        .gql_as(Some(&ministry), respond, json!({ "id": moved.to_string(), "v": version }))
        .await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"), "{resp}");
    // Outside its scope altogether: as if it did not exist.
    let foreign = app
        .db
        .sql_i64(&format!(
            "SELECT id FROM complaint WHERE id NOT IN (SELECT complaint_id FROM assignment WHERE department_id = {health}) ORDER BY id LIMIT 1"
        ), vec![])
        .await;
    let (_, resp) =
        app.gql_as(Some(&ministry), respond, json!({ "id": foreign.to_string(), "v": 1 })).await;
    assert_eq!(error_code(&resp), Some("NOT_FOUND"), "{resp}");
    // The governor escalates but does not route; the public does nothing.
    let governor = app.token(Role::Governor, None, None);
    let assign = "mutation($id: ID!, $d: ID!, $s: ID, $v: Int!) { assignComplaint(id: $id, departmentId: $d, assigneeId: $s, expectedVersion: $v) { id } }";
    let open = app
        .db
        .sql_i64(
            "SELECT MIN(id) FROM complaint WHERE status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS')",
            vec![],
        )
        .await;
    let v =
        app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {open}"), vec![]).await;
    let vars = json!({ "id": open.to_string(), "d": health.to_string(), "v": v });
    let (_, resp) = app.gql_as(Some(&governor), assign, vars.clone()).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    let (_, resp) = app.gql_as(None, assign, vars.clone()).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    // An assignee from another department is bad input and writes nothing.
    let stranger = app
        .db
        .sql_i64(
            &format!("SELECT id FROM staff WHERE department_id <> {health} ORDER BY id LIMIT 1"),
            vec![],
        )
        .await;
    let mut bad = vars.clone();
    bad["s"] = json!(stranger.to_string());
    let resp = app.gql(assign, bad).await;
    assert_eq!(error_code(&resp), Some("BAD_USER_INPUT"), "{resp}");
    assert!(resp["errors"][0]["message"].as_str().unwrap_or("").contains("works in department"));
    let resp = app.gql(assign, json!({ "id": open.to_string(), "d": "9999", "v": v })).await;
    assert_eq!(error_code(&resp), Some("BAD_USER_INPUT"));
    let after =
        app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {open}"), vec![]).await;
    assert_eq!(after, v, "refused changes write nothing");
    // The governor may escalate to the center.
    let escalate = "mutation($id: ID!, $v: Int!) { escalateComplaint(id: $id, reason: \"Резонанс в соцсетях\", expectedVersion: $v) { department { code } status } }";
    let data =
        app.data_as(Some(&governor), escalate, json!({ "id": open.to_string(), "v": v })).await;
    assert_eq!(
        data["escalateComplaint"],
        json!({ "department": { "code": "cur" }, "status": "ASSIGNED" })
    );
}

#[tokio::test]
async fn a_complaint_goes_from_ingestion_to_resolution_with_its_whole_history() {
    let app = TestApp::spawn_with(Backend::Postgres, 10, 7).await;
    let ingest = r#"mutation { ingestComplaints(input: [{ source: GOSUSLUGI_POS, externalId: "pos-42",
        text: "Третью неделю не могу записаться к терапевту в поликлинику, талонов нет", municipalityId: "2",
        author: { name: "Петров Пётр", phone: "+7 912 000-00-00" } }]) {
        items { complaintId complaint { category status version department { id code } firstResponseDueAt } } } }"#;
    let data = app.data(ingest, json!({})).await;
    let c = &data["ingestComplaints"]["items"][0];
    assert_eq!(c["complaint"]["category"], "HEALTHCARE");
    assert_eq!(c["complaint"]["department"]["code"], "health");
    let id = c["complaintId"].as_str().expect("id").to_owned();
    let dept: i32 =
        c["complaint"]["department"]["id"].as_str().expect("dept").parse().expect("numeric");
    let ministry = app.token(Role::Ministry, Some(dept), None);
    let mut version = c["complaint"]["version"].as_i64().expect("version");
    let steps = [
        format!("changeComplaintStatus(id: \"{id}\", status: IN_PROGRESS, expectedVersion: {{v}})"),
        format!(
            "respondToComplaint(id: \"{id}\", text: \"Запросили данные у поликлиники\", public: false, expectedVersion: {{v}})"
        ),
        format!(
            "respondToComplaint(id: \"{id}\", text: \"Вы записаны на 2 декабря, 10:00\", public: true, expectedVersion: {{v}})"
        ),
        format!("changeComplaintStatus(id: \"{id}\", status: ANSWERED, expectedVersion: {{v}})"),
        format!(
            "changeComplaintStatus(id: \"{id}\", status: RESOLVED, expectedVersion: {{v}}, comment: \"Заявитель подтвердил\")"
        ),
    ];
    for step in steps {
        let q =
            format!("mutation {{ {} {{ version }} }}", step.replace("{v}", &version.to_string()));
        let data = app.data_as(Some(&ministry), &q, json!({})).await;
        let new = data.as_object().and_then(|o| o.values().next()).map(|c| c["version"].as_i64());
        version = new.flatten().expect("version");
    }
    let q = "query($id: ID!) { complaint(id: $id) { status firstResponseAt resolvedAt author { name }
        history { from to actor comment } responses { isPublic text department { code } } assignments { department { code } assignedBy } } }";
    let c = app.data(q, json!({ "id": id })).await["complaint"].clone();
    assert_eq!(c["status"], "RESOLVED");
    assert!(c["firstResponseAt"].is_string() && c["resolvedAt"].is_string(), "{c}");
    let path: Vec<&str> = c["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["to"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(path, ["NEW", "ASSIGNED", "IN_PROGRESS", "ANSWERED", "RESOLVED"]);
    assert_eq!(c["history"][4]["actor"], "ministry:test-ministry");
    assert_eq!(c["history"][4]["comment"], "Заявитель подтвердил");
    assert_eq!(c["responses"].as_array().map(Vec::len), Some(2));
    assert_eq!(c["responses"][1]["department"]["code"], "health");
    assert_eq!(c["assignments"][0]["assignedBy"], "routing-rules");
    // The public answer is visible to the public only if the complaint is public (POS: not).
    let (_, resp) = app
        .gql_as(None, "query($id: ID!) { complaint(id: $id) { status } }", json!({ "id": id }))
        .await;
    assert_eq!(error_code(&resp), Some("NOT_FOUND"));
}

/// Complaints whose `assigned_departments` differ from the departments of their assignments.
const DEPARTMENTS_DRIFT: &str = "SELECT COUNT(*) FROM complaint c WHERE c.assigned_departments <> \
     ARRAY(SELECT DISTINCT a.department_id FROM assignment a WHERE a.complaint_id = c.id ORDER BY 1)";

#[tokio::test]
async fn a_ministry_keeps_what_was_handed_on_and_the_row_remembers_every_department() {
    // On Postgres a ministry's past complaints are asked of the row's own department set: the
    // seed's COPY, a reassignment, a routed ingestion and a hand-written assignment keep it.
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.db.sql_i64(DEPARTMENTS_DRIFT, vec![]).await, 0, "after the seed");
    let (first, second) = (2, 3);
    let id = app
        .db
        .sql_i64(
            &format!(
                "SELECT MIN(id) FROM complaint WHERE status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS') \
                 AND NOT assigned_departments && ARRAY[{first}, {second}]"
            ),
            vec![],
        )
        .await;
    let ministry = app.token(Role::Ministry, Some(first), None);
    let read = "query($id: ID!) { complaint(id: $id) { id } }";
    let seen = |resp: Value| resp["data"]["complaint"]["id"].as_str().map(str::to_owned);
    let (_, resp) = app.gql_as(Some(&ministry), read, json!({ "id": id.to_string() })).await;
    assert_eq!(seen(resp), None, "never assigned to it: not its complaint");
    let version_sql = format!("SELECT version FROM complaint WHERE id = {id}");
    let v = app.db.sql_i64(&version_sql, vec![]).await;
    let resp = move_to(&app, &ministry, id, first, "ASSIGNED", v).await;
    assert!(resp["errors"].is_null(), "{resp}");
    let v = app.db.sql_i64(&version_sql, vec![]).await;
    let resp = move_to(&app, &ministry, id, second, "ASSIGNED", v).await;
    assert!(resp["errors"].is_null(), "{resp}");
    let (_, resp) = app.gql_as(Some(&ministry), read, json!({ "id": id.to_string() })).await;
    assert_eq!(seen(resp), Some(id.to_string()), "handed on, still its past complaint");
    let list = "query($f: ComplaintFilter) { complaints(filter: $f, first: 50) { totalCount edges { node { id } } } }";
    let muni = app
        .db
        .sql_i64(&format!("SELECT municipality_id FROM complaint WHERE id = {id}"), vec![])
        .await;
    let data = app
        .data_as(Some(&ministry), list, json!({ "f": { "municipalityId": muni.to_string(), "departmentId": second.to_string() } }))
        .await;
    assert!(
        crate::helpers::node_ids(&data["complaints"]).contains(&id),
        "a filter on the current department keeps the past one's row: {data}"
    );
    // Routed ingestion writes an assignment in the same statement batch as the complaint.
    let ingest = "mutation($i: [IngestComplaintInput!]!) { ingestComplaints(input: $i) { created items { complaint { department { id } } } } }";
    let item = json!({ "source": "VK", "externalId": "vk-departments", "municipalityId": "1",
                       "text": "В больнице на ул. Ленина третью неделю нет лекарств для льготников" });
    let data = app.data(ingest, json!({ "i": [item] })).await;
    let routed = &data["ingestComplaints"]["items"][0]["complaint"]["department"]["id"];
    assert!(routed.is_string(), "routed on ingestion: {data}");
    // Written once: the row's version is older, within the ingesting transaction, than its
    // assignment (had the trigger rewritten it, the version would be the trigger's, younger).
    let written_once = "SELECT COUNT(*) FROM complaint c JOIN assignment a ON a.complaint_id = c.id \
         WHERE c.external_id = 'vk-departments' AND c.xmin = a.xmin \
           AND c.cmin::text::int < a.cmin::text::int";
    assert_eq!(app.db.sql_i64(written_once, vec![]).await, 1, "the routed row written once");
    // Whatever writes an assignment, the trigger folds its department in.
    app.db
        .sql(
            &format!(
                "INSERT INTO assignment (complaint_id, department_id, assigned_by, assigned_at) \
                 SELECT id, 5, 'test', now() FROM complaint WHERE id IN ({id}, {id} + 1)"
            ),
            vec![],
        )
        .await;
    assert_eq!(app.db.sql_i64(DEPARTMENTS_DRIFT, vec![]).await, 0, "after the writes");
    let held = app
        .db
        .sql_column::<Vec<i32>>(
            &format!("SELECT assigned_departments FROM complaint WHERE id = {id}"),
            vec![],
        )
        .await;
    assert!(
        held[0].contains(&first) && held[0].contains(&second) && held[0].contains(&5),
        "{held:?}"
    );
}
