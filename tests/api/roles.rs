//! The roles matrix, role by role, on both backends: which complaints each role sees (against
//! direct SQL for that scope), which fields, which notes and contacts, and what stays hidden.
use crate::helpers::{BOTH, TestApp, error_code, node_ids};
use cur_gateway::auth::Role;
use serde_json::{Value, json};

const LIST: &str = "query { complaints(first: 100) { totalCount edges { node { id } } } }";

/// The department with the most complaints that moved on to another department: its scope
/// holds rows it may read but whose author it may no longer see.
async fn department_with_history(app: &TestApp) -> i32 {
    app.db
        .sql_i64(
            "SELECT a.department_id FROM assignment a JOIN complaint c ON c.id = a.complaint_id \
             WHERE c.department_id <> a.department_id \
             GROUP BY a.department_id ORDER BY COUNT(*) DESC, a.department_id LIMIT 1",
            vec![],
        )
        .await as i32
}

async fn busiest_municipality(app: &TestApp) -> i32 {
    app.db
        .sql_i64(
            "SELECT municipality_id FROM complaint GROUP BY municipality_id \
             ORDER BY COUNT(*) DESC, municipality_id LIMIT 1",
            vec![],
        )
        .await as i32
}

fn ministry_scope(dept: i32) -> String {
    format!(
        "(department_id = {dept} OR id IN (SELECT complaint_id FROM assignment WHERE department_id = {dept}))"
    )
}

#[tokio::test]
async fn each_role_sees_exactly_its_rows() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let dept = department_with_history(&app).await;
        let muni = busiest_municipality(&app).await;
        let cases = [
            (Role::Governor, app.token(Role::Governor, None, None), "1 = 1".to_owned()),
            (Role::Operator, app.token(Role::Operator, None, None), "1 = 1".to_owned()),
            (Role::Ministry, app.token(Role::Ministry, Some(dept), None), ministry_scope(dept)),
            (
                Role::Municipality,
                app.token(Role::Municipality, None, Some(muni)),
                format!("municipality_id = {muni}"),
            ),
            (Role::Integration, app.token(Role::Integration, None, None), "1 = 0".to_owned()),
        ];
        let mut seen = Vec::new();
        for (role, token, scope) in cases
            .iter()
            .map(|(r, t, s)| (*r, Some(t.as_str()), s.as_str()))
            .chain([(Role::Public, None, "is_public = TRUE")])
        {
            let count = app
                .db
                .sql_i64(&format!("SELECT COUNT(*) FROM complaint WHERE {scope}"), vec![])
                .await;
            let ids = app
                .db
                .sql_column::<i64>(
                    &format!(
                        "SELECT id FROM complaint WHERE {scope} ORDER BY received_at DESC, id DESC LIMIT 100"
                    ),
                    vec![],
                )
                .await;
            let data = app.data_as(token, LIST, json!({})).await;
            assert_eq!(data["complaints"]["totalCount"], count, "{backend:?} {role:?} totalCount");
            assert_eq!(node_ids(&data["complaints"]), ids, "{backend:?} {role:?} rows");
            seen.push((role, count));

            // A row outside the scope is NOT_FOUND, as if it did not exist.
            let outside = app
                .db
                .sql_column::<i64>(
                    &format!("SELECT id FROM complaint WHERE NOT {scope} LIMIT 1"),
                    vec![],
                )
                .await;
            if let Some(id) = outside.first() {
                let (status, resp) = app
                    .gql_as(
                        token,
                        "query($id: ID!) { complaint(id: $id) { id } }",
                        json!({ "id": id.to_string() }),
                    )
                    .await;
                assert_eq!(status, 200);
                assert_eq!(error_code(&resp), Some("NOT_FOUND"), "{backend:?} {role:?}: {resp}");
                assert!(resp["data"]["complaint"].is_null());
            }
        }
        eprintln!("{backend:?}: visible complaints per role: {seen:?}");
        let total = seen[0].1;
        assert!(
            seen.iter().all(|(r, n)| *n < total || matches!(r, Role::Governor | Role::Operator))
        );
        assert!(seen.iter().filter(|(_, n)| *n > 0).count() == 5, "only the integration sees none");
    }
}

const ONE: &str = "query One($id: ID!) { complaint(id: $id) { number author { name phone } } }";

#[tokio::test]
async fn author_follows_the_matrix_and_the_current_assignment() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let dept = department_with_history(&app).await;
        let current = app
            .db
            .sql_i64(
                &format!(
                    "SELECT id FROM complaint WHERE department_id = {dept} AND author_name IS NOT NULL ORDER BY id LIMIT 1"
                ),
                vec![],
            )
            .await;
        let moved_on = app
            .db
            .sql_i64(
                &format!(
                    "SELECT c.id FROM complaint c JOIN assignment a ON a.complaint_id = c.id \
                     WHERE a.department_id = {dept} AND c.department_id <> {dept} ORDER BY c.id LIMIT 1"
                ),
                vec![],
            )
            .await;
        let vars = |id: i64| json!({ "id": id.to_string() });

        let operator = app.data(ONE, vars(current)).await;
        assert!(operator["complaint"]["author"]["name"].is_string(), "{backend:?}: {operator}");

        let ministry = app.token(Role::Ministry, Some(dept), None);
        let own = app.data_as(Some(&ministry), ONE, vars(current)).await;
        assert_eq!(own["complaint"]["author"], operator["complaint"]["author"]);

        let (status, resp) = app.gql_as(Some(&ministry), ONE, vars(moved_on)).await;
        assert_eq!(status, 200);
        assert!(resp["data"]["complaint"]["number"].is_string(), "the rest stays: {resp}");
        assert_eq!(
            resp["data"]["complaint"].get("author"),
            Some(&Value::Null),
            "present, null: {resp}"
        );
        assert_eq!(error_code(&resp), Some("FORBIDDEN"));
        assert_eq!(resp["errors"][0]["path"], json!(["complaint", "author"]));

        // On a page, each row assigned elsewhere gets its own FORBIDDEN; the others resolve.
        let page = "{ complaints(first: 100) { edges { node { id department { id } author { name } } } } }";
        let (_, resp) = app.gql_as(Some(&ministry), page, json!({})).await;
        let edges = resp["data"]["complaints"]["edges"].as_array().expect("edges").clone();
        let elsewhere = edges
            .iter()
            .filter(|e| e["node"]["department"]["id"] != json!(dept.to_string()))
            .count();
        assert!(elsewhere > 0, "{backend:?}: the page should hold moved-on complaints");
        let forbidden = resp["errors"].as_array().map_or(0, Vec::len);
        assert_eq!(forbidden, elsewhere, "{backend:?}: one error per row assigned elsewhere");

        // Roles that may never see authors are refused before anything runs.
        let muni = busiest_municipality(&app).await;
        for token in [
            Some(app.token(Role::Governor, None, None)),
            Some(app.token(Role::Municipality, None, Some(muni))),
            None,
        ] {
            let (status, resp) = app.gql_as(token.as_deref(), ONE, vars(current)).await;
            assert_eq!(status, 200);
            assert_eq!(error_code(&resp), Some("FORBIDDEN"), "{resp}");
            assert!(
                resp["errors"][0]["message"].as_str().unwrap_or("").contains("Complaint.author")
            );
            assert!(resp["data"].is_null(), "nothing runs: {resp}");
        }
    }
}

#[tokio::test]
async fn introspection_shows_each_role_its_own_schema() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let q = r#"{ c: __type(name: "Complaint") { fields { name } }
                s: __type(name: "Staff") { fields { name } }
                a: __type(name: "Author") { name }
                __schema { queryType { fields { name } } } }"#;
    let names = |v: &Value| -> Vec<String> {
        v["fields"].as_array().map_or(vec![], |f| {
            f.iter().map(|x| x["name"].as_str().unwrap_or("").to_owned()).collect()
        })
    };
    let cases = [
        (Some(app.token(Role::Operator, None, None)), true, true, true, true),
        (Some(app.token(Role::Governor, None, None)), false, true, true, false),
        (Some(app.token(Role::Ministry, Some(1), None)), true, true, true, false),
        (Some(app.token(Role::Municipality, None, Some(1))), false, true, false, false),
        (None, false, false, false, false),
    ];
    for (token, author, external_id, contacts, audit) in cases {
        let data = app.data_as(token.as_deref(), q, json!({})).await;
        let complaint = names(&data["c"]);
        let staff = names(&data["s"]);
        let roots = names(&data["__schema"]["queryType"]);
        assert!(complaint.contains(&"status".to_owned()) && staff.contains(&"fullName".to_owned()));
        assert_eq!(complaint.contains(&"author".to_owned()), author, "{data}");
        assert_eq!(data["a"].is_object(), author, "the Author type follows the field: {data}");
        assert_eq!(complaint.contains(&"externalId".to_owned()), external_id, "{data}");
        assert_eq!(staff.contains(&"phone".to_owned()), contacts, "{data}");
        assert_eq!(roots.contains(&"auditLog".to_owned()), audit, "{data}");
    }
    // Mutations: each role sees the ones some action of it can use.
    let q = "{ __schema { mutationType { fields { name } } } }";
    let cases = [
        (
            Some(app.token(Role::Operator, None, None)),
            vec![
                "assignComplaint",
                "changeComplaintStatus",
                "deleteRoutingRule",
                "escalateComplaint",
                "ingestComplaints",
                "pauseConnector",
                "rejectComplaint",
                "resumeConnector",
                "revokeSessions",
                "runConnectorNow",
                "setRoutingRule",
            ],
        ),
        (Some(app.token(Role::Governor, None, None)), vec!["escalateComplaint"]),
        (
            Some(app.token(Role::Ministry, Some(1), None)),
            vec!["assignComplaint", "changeComplaintStatus", "respondToComplaint"],
        ),
        (Some(app.token(Role::Municipality, None, Some(1))), vec!["respondToComplaint"]),
        (Some(app.token(Role::Integration, None, None)), vec!["ingestComplaints"]),
        (None, vec![]),
    ];
    for (token, expected) in cases {
        let data = app.data_as(token.as_deref(), q, json!({})).await;
        let mut got = names(&data["__schema"]["mutationType"]);
        got.sort();
        assert_eq!(got, expected, "{data}");
    }
}

#[tokio::test]
async fn notes_and_staff_contacts_follow_the_matrix() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let dept = department_with_history(&app).await;
        let muni = busiest_municipality(&app).await;
        let page = "{ complaints(first: 100) { edges { node { id responseCount responses { isPublic department { id } } } } } }";
        let cases = [
            (Some(app.token(Role::Operator, None, None)), "1 = 1".to_owned(), "1 = 1".to_owned()),
            (
                Some(app.token(Role::Ministry, Some(dept), None)),
                ministry_scope(dept),
                format!("(r.is_public = TRUE OR r.department_id = {dept})"),
            ),
            (
                Some(app.token(Role::Municipality, None, Some(muni))),
                format!("municipality_id = {muni}"),
                "r.is_public = TRUE".to_owned(),
            ),
            (None, "is_public = TRUE".to_owned(), "r.is_public = TRUE".to_owned()),
        ];
        for (token, scope, notes) in cases {
            let data = app.data_as(token.as_deref(), page, json!({})).await;
            let edges = data["complaints"]["edges"].as_array().expect("edges");
            let ids: Vec<String> =
                node_ids(&data["complaints"]).iter().map(i64::to_string).collect();
            let expected = app
                .db
                .sql_i64(
                    &format!(
                        "SELECT COUNT(*) FROM response r WHERE r.complaint_id IN \
                         (SELECT id FROM complaint WHERE {scope} ORDER BY received_at DESC, id DESC LIMIT 100) AND {notes}"
                    ),
                    vec![],
                )
                .await;
            let listed: usize =
                edges.iter().map(|e| e["node"]["responses"].as_array().map_or(0, Vec::len)).sum();
            let counted: i64 =
                edges.iter().map(|e| e["node"]["responseCount"].as_i64().unwrap_or(-1)).sum();
            assert_eq!(
                listed as i64,
                expected,
                "{backend:?} {notes}: responses on {} rows",
                ids.len()
            );
            assert_eq!(counted, expected, "{backend:?} {notes}: responseCount agrees");
        }
        // A ministry sees its own notes but no other department's.
        let ministry = app.token(Role::Ministry, Some(dept), None);
        let data = app.data_as(Some(&ministry), page, json!({})).await;
        for e in data["complaints"]["edges"].as_array().expect("edges") {
            for r in e["node"]["responses"].as_array().expect("responses") {
                assert!(
                    r["isPublic"] == json!(true)
                        || r["department"]["id"] == json!(dept.to_string()),
                    "{r}"
                );
            }
        }

        // Staff contacts: own department only for a ministry, never for a municipality.
        let own = app
            .db
            .sql_i64(
                &format!("SELECT id FROM staff WHERE department_id = {dept} ORDER BY id LIMIT 1"),
                vec![],
            )
            .await;
        let other = app
            .db
            .sql_i64(
                &format!("SELECT id FROM staff WHERE department_id <> {dept} ORDER BY id LIMIT 1"),
                vec![],
            )
            .await;
        let q = "query($id: ID!) { staff(id: $id) { fullName phone email } }";
        let vars = |id: i64| json!({ "id": id.to_string() });
        let mine = app.data_as(Some(&ministry), q, vars(own)).await;
        assert!(mine["staff"]["email"].is_string(), "{mine}");
        let (_, theirs) = app.gql_as(Some(&ministry), q, vars(other)).await;
        assert!(theirs["data"]["staff"]["fullName"].is_string());
        assert!(
            theirs["data"]["staff"]["email"].is_null()
                && theirs["data"]["staff"]["phone"].is_null()
        );
        assert_eq!(error_code(&theirs), Some("FORBIDDEN"));
        let governor = app.token(Role::Governor, None, None);
        assert!(app.data_as(Some(&governor), q, vars(other)).await["staff"]["email"].is_string());
        let municipality = app.token(Role::Municipality, None, Some(muni));
        let (_, resp) = app.gql_as(Some(&municipality), q, vars(own)).await;
        assert_eq!(error_code(&resp), Some("FORBIDDEN"));
        assert!(resp["data"].is_null());
    }
}

#[tokio::test]
async fn the_public_sees_public_complaints_with_personal_data_masked() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let id = app
            .db
            .sql_i64("SELECT id FROM complaint WHERE is_public = TRUE ORDER BY id LIMIT 1", vec![])
            .await;
        let text = "Здравствуйте! Во дворе дома 15 по ул. Мира третью неделю не вывозят мусор. \
                    Прошу перезвонить мне по телефону +7 (912) 345-67-89 или 8-3467-33-22-11, \
                    написать на ivanova.m@mail.ru или в ВК vk.com/id12345678 (https://t.me/ivanova_m).";
        app.db
            .sql(
                "UPDATE complaint SET text = $1, address = $2 WHERE id = $3",
                vec![text.into(), "ул. Мира, 15, кв. 8, тел. 89123456789".into(), id.into()],
            )
            .await;
        app.db
            .sql(
                "INSERT INTO response (complaint_id, department_id, staff_id, text, is_public, at) \
                 SELECT id, department_id, NULL, $1, TRUE, received_at FROM complaint WHERE id = $2",
                vec!["Ответ направлен на ivanova.m@mail.ru, телефон диспетчера 8 (3467) 32-10-00".into(), id.into()],
            )
            .await;
        let q =
            "query($id: ID!) { complaint(id: $id) { text address isPublic responses { text } } }";
        let vars = json!({ "id": id.to_string() });
        let public = app.data_as(None, q, vars.clone()).await;
        let shown = public["complaint"].to_string();
        for leaked in [
            "912",
            "345-67",
            "33-22-11",
            "ivanova",
            "vk.com",
            "id12345678",
            "t.me",
            "89123456789",
            "32-10-00",
        ] {
            assert!(!shown.contains(leaked), "{backend:?}: {leaked} leaked in {shown}");
        }
        let masked = public["complaint"]["text"].as_str().expect("text");
        assert!(masked.contains("Во дворе дома 15 по ул. Мира"), "the message survives: {masked}");
        assert_eq!(masked.matches("[телефон скрыт]").count(), 2, "{masked}");
        assert!(masked.contains("[e-mail скрыт]") && masked.contains("[ссылка скрыта]"));
        // Everyone else reads the original.
        let operator = app.data(q, vars).await;
        assert_eq!(operator["complaint"]["text"], text);

        // Searching unmasked text would reveal what masking hides.
        let (_, resp) = app
            .gql_as(None, r#"{ complaints(filter: { search: "912" }) { totalCount } }"#, json!({}))
            .await;
        assert_eq!(error_code(&resp), Some("FORBIDDEN"), "{resp}");
        let (_, resp) =
            app.gql_as(None, "{ complaints { edges { node { externalId } } } }", json!({})).await;
        assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    }
}
