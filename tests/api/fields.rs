//! Fields fail closed: every field of every object type has an entry in the field registry
//! (a unit test of `graphql::fields` holds it equal to the SDL), each role's introspection
//! shows exactly what its entries allow, a misspelt name
//! gets an error that names nothing else, and officials' logins follow the roles matrix.
use crate::boundary::{Kind, askers};
use crate::helpers::{BOTH, Backend, TestApp, error_code};
use async_graphql::parser::{
    parse_schema,
    types::{TypeKind, TypeSystemDefinition},
};
use cur_gateway::auth::{Role, policy::Access};
use cur_gateway::graphql::fields;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Object and interface types of the exported SDL with their fields.
fn sdl_fields() -> BTreeMap<String, BTreeSet<String>> {
    let doc = parse_schema(cur_gateway::graphql::sdl()).expect("the SDL parses");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else { continue };
        let fields = match &ty.node.kind {
            TypeKind::Object(o) => &o.fields,
            TypeKind::Interface(i) => &i.fields,
            _ => continue,
        };
        let names = fields.iter().map(|f| f.node.name.node.to_string()).collect();
        out.insert(ty.node.name.node.to_string(), names);
    }
    out
}

const INTROSPECT: &str = "{ __schema { types { name kind fields { name } } } }";

#[tokio::test]
async fn each_role_introspects_exactly_the_fields_its_rules_allow() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sdl = sdl_fields();
    let roles = [
        (Role::Governor, Some(app.token(Role::Governor, None, None))),
        (Role::Operator, Some(app.token(Role::Operator, None, None))),
        (Role::Ministry, Some(app.token(Role::Ministry, Some(2), None))),
        (Role::Municipality, Some(app.token(Role::Municipality, None, Some(1)))),
        (Role::Integration, Some(app.token(Role::Integration, None, None))),
        (Role::Public, None),
    ];
    for (role, token) in roles {
        let data = app.data_as(token.as_deref(), INTROSPECT, json!({})).await;
        let mut seen_types = 0;
        for ty in data["__schema"]["types"].as_array().expect("types") {
            let name = ty["name"].as_str().expect("name");
            if name.starts_with("__") || ty["kind"] != "OBJECT" {
                continue;
            }
            seen_types += 1;
            let shown: BTreeSet<String> = ty["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| f["name"].as_str().expect("field name").to_owned())
                .collect();
            // This gateway is not a subgraph: the federation fields are off for every role.
            let off = |f: &str| cur_gateway::graphql::federation::FIELDS.contains(&(name, f));
            let allowed: BTreeSet<String> = sdl[name]
                .iter()
                .filter(|f| fields::access(role, name, f) != Access::Deny && !off(f))
                .cloned()
                .collect();
            assert_eq!(shown, allowed, "{role:?} introspects {name}");
        }
        assert!(seen_types >= 8, "{role:?} saw {seen_types} object types");
        // Types reached only through denied fields are hidden with them.
        let names: Vec<&str> = data["__schema"]["types"]
            .as_array()
            .expect("types")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        if role == Role::Public {
            for hidden in ["Author", "AuditRecord", "RoutingRule", "IngestResult"] {
                assert!(!names.contains(&hidden), "the public introspects {hidden}");
            }
        }
    }
}

#[tokio::test]
async fn misspelt_names_get_errors_that_name_nothing_else() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let every_name: BTreeSet<String> = sdl_fields().into_values().flatten().collect();
    // (document, the misspelt name, the type it was asked on)
    let cases = [
        ("{ auditLo { totalCount } }", "auditLo", "Query"),
        ("{ staff(id: \"1\") { phon } }", "phon", "Staff"),
        ("{ complaint(id: \"1\") { autor { name } } }", "autor", "Complaint"),
        (
            "{ complaints(first: 1) { edges { node { histroy { actor } } } } }",
            "histroy",
            "Complaint",
        ),
        ("{ complaints(fist: 1) { totalCount } }", "fist", "complaints"),
        ("mutation { ingestComplaint(input: []) { created } }", "ingestComplaint", "Mutation"),
        (
            "mutation { respondToComplain(id: \"1\", text: \"x\", public: true, expectedVersion: 1) { id } }",
            "respondToComplain",
            "Mutation",
        ),
    ];
    let askers = askers(&app).await;
    for asker in &askers {
        for (doc, wrong, on) in cases {
            let (status, resp) = app.gql_as(asker.token.as_deref(), doc, json!({})).await;
            let what = format!("{} / {doc}", asker.name);
            assert!(resp["data"].is_null(), "{what}: {resp}");
            let errors = resp["errors"].as_array().expect("errors");
            assert!(!errors.is_empty(), "{what}");
            for e in errors {
                let message = e["message"].as_str().expect("message");
                assert!(!message.contains("Did you mean"), "{what}: {message}");
                // The only schema names in the message are the misspelt one and its parent.
                for name in every_name.iter().filter(|n| n.len() > 2 && *n != on) {
                    let quoted = format!("\"{name}\"");
                    assert!(!message.contains(&quoted), "{what}: {message} names {name}");
                }
                assert!(message.contains(wrong), "{what}: {message}");
            }
            assert_eq!(error_code(&resp), Some("GRAPHQL_VALIDATION_FAILED"), "{what}: {resp}");
            assert_eq!(status, 200, "{what}");
        }
    }
}

const HISTORY: &str = r#"query($after: String) {
  complaints(first: 100, after: $after, orderBy: {field: NUMBER, direction: ASC}) {
    pageInfo { hasNextPage endCursor }
    edges { node { id history { id actor actingBody } assignments { id assignedBy actingBody } } }
  }
}"#;

/// Every complaint of the asker's scope with its history lines and assignments, by id.
async fn read_all(
    app: &TestApp,
    token: Option<&str>,
) -> (HashMap<i64, Value>, HashMap<i64, Value>) {
    let (mut events, mut assignments) = (HashMap::new(), HashMap::new());
    let mut after = Value::Null;
    loop {
        let data = app.data_as(token, HISTORY, json!({ "after": after })).await;
        let page = &data["complaints"];
        for edge in page["edges"].as_array().expect("edges") {
            for (list, into) in [("history", &mut events), ("assignments", &mut assignments)] {
                for row in edge["node"][list].as_array().expect("list") {
                    let id: i64 = row["id"].as_str().expect("id").parse().expect("numeric");
                    into.insert(id, row.clone());
                }
            }
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return (events, assignments);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// (id, login, acting department, its name, its municipality) of every row of `table`.
async fn acted(
    app: &TestApp,
    table: &str,
    login: &str,
) -> Vec<(i64, String, Option<i32>, Option<String>, Option<i32>)> {
    let rows = app
        .db
        .sql(
            &format!(
                "SELECT t.id, t.{login}, t.actor_department_id, d.name, d.municipality_id \
                 FROM {table} t LEFT JOIN department d ON d.id = t.actor_department_id"
            ),
            vec![],
        )
        .await;
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("id"),
                r.try_get_by_index(1).expect("login"),
                r.try_get_by_index(2).expect("department"),
                r.try_get_by_index(3).expect("name"),
                r.try_get_by_index(4).expect("municipality"),
            )
        })
        .collect()
}

#[tokio::test]
async fn officials_logins_follow_the_matrix_and_the_public_sees_the_acting_body() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let askers = askers(&app).await;
        // A live change by a ministry: its login and department go into the history.
        let rows = app
            .db
            .sql("SELECT id, version, department_id FROM complaint WHERE status = 'IN_PROGRESS' AND department_id IS NOT NULL ORDER BY id LIMIT 1", vec![])
            .await;
        let id = rows[0].try_get_by_index::<i64>(0).expect("id");
        let version = rows[0].try_get_by_index::<i32>(1).expect("version");
        let dept = rows[0].try_get_by_index::<i32>(2).expect("department");
        let token = app.token(Role::Ministry, Some(dept), None);
        let change = "mutation($id: ID!, $v: Int!) { changeComplaintStatus(id: $id, status: ANSWERED, expectedVersion: $v) { version } }";
        app.data_as(Some(&token), change, json!({ "id": id.to_string(), "v": version })).await;
        let live = app.db.sql_i64(&format!("SELECT COUNT(*) FROM status_event WHERE complaint_id = {id} AND actor = 'ministry:test-ministry' AND actor_department_id = {dept}"), vec![]).await;
        assert_eq!(live, 1, "{backend:?}: the change records its login and body");

        let events = acted(&app, "status_event", "actor").await;
        let assignments = acted(&app, "assignment", "assigned_by").await;
        for asker in askers.iter().filter(|a| a.kind != Kind::Integration) {
            let (seen_events, seen_assignments) = read_all(&app, asker.token.as_deref()).await;
            let mut logins = 0;
            for (rows, seen, field) in
                [(&events, &seen_events, "actor"), (&assignments, &seen_assignments, "assignedBy")]
            {
                for (row_id, login, department, name, territory) in rows {
                    let Some(got) = seen.get(row_id) else { continue };
                    let body = name.clone().unwrap_or_else(|| "ЦУР".to_owned());
                    let shows = match asker.kind {
                        Kind::Region => true,
                        Kind::Ministry(d) => *department == Some(d),
                        Kind::Municipality(m) => *territory == Some(m),
                        Kind::Public | Kind::Integration => false,
                    };
                    let expected = if shows { login.clone() } else { body.clone() };
                    let what = format!("{backend:?} / {} / {field} of row {row_id}", asker.name);
                    assert_eq!(got[field], expected.as_str(), "{what}");
                    assert_eq!(got["actingBody"], body.as_str(), "{what}: actingBody");
                    logins += usize::from(shows && login != &body);
                }
            }
            match asker.kind {
                Kind::Public => assert_eq!(logins, 0),
                _ => assert!(logins > 0, "{backend:?} / {}: no login shown at all", asker.name),
            }
        }
    }
}
