//! Complaint pages are built from compiled plans when their selection allows
//! (`src/graphql/compiled.rs`); add one field only the executor resolves and the whole page goes
//! through async-graphql's executor instead. Both must give every role the same answer.
use crate::helpers::{BOTH, TestApp};
use cur_gateway::auth::{Role, policy::Access};
use cur_gateway::graphql::fields::access as field_access;
use serde_json::{Value, json};

/// Every field a plan covers, with aliases, `__typename`, an inline fragment and a spread
/// (`isPublic` and `priority` only inside them: the page must read their columns too).
fn page_query(role: Role, extra: &str) -> String {
    let external_id = if field_access(role, "Complaint", "externalId") == Access::Allow {
        "externalId"
    } else {
        ""
    };
    let node = format!(
        r#"__typename id number source {external_id} category text address lat lon receivedAt
        status firstResponseDueAt resolutionDueAt firstResponseAt resolvedAt isOverdue
        version responseCount
        place: municipality {{ __typename id name nameEn kind population }}
        department {{ __typename id code name kind parent {{ id name }} municipality {{ name }} }}
        assignee {{ __typename id fullName position active department {{ code parent {{ code }} }} }}
        ... on Complaint {{ alsoNumber: number isPublic }}
        ...Deadlines
        {extra}"#
    );
    format!(
        r#"query Page($after: String) {{
          complaints(first: 40, after: $after) {{
            edges {{ __typename cursor node {{ {node} }} }}
            nodes {{ {node} }}
          }}
        }}
        fragment Deadlines on Complaint {{ due: resolutionDueAt priority }}"#
    )
}

/// Removes `key` from every object in `v`.
fn without(mut v: Value, key: &str) -> Value {
    fn strip(v: &mut Value, key: &str) {
        match v {
            Value::Object(map) => {
                map.remove(key);
                map.values_mut().for_each(|x| strip(x, key));
            }
            Value::Array(items) => items.iter_mut().for_each(|x| strip(x, key)),
            _ => {}
        }
    }
    strip(&mut v, key);
    v
}

#[tokio::test]
async fn compiled_pages_equal_the_executors_answer_for_every_role() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let dept = app
            .db
            .sql_i64(
                "SELECT MIN(department_id) FROM complaint WHERE assignee_id IS NOT NULL",
                vec![],
            )
            .await as i32;
        let callers = [
            (Role::Governor, Some(app.token(Role::Governor, None, None))),
            (Role::Operator, Some(app.token(Role::Operator, None, None))),
            (Role::Ministry, Some(app.token(Role::Ministry, Some(dept), None))),
            (Role::Municipality, Some(app.token(Role::Municipality, None, Some(1)))),
            (Role::Public, None),
        ];
        for (role, token) in callers {
            let compiled = page_query(role, "");
            let executed = page_query(role, "history { to }");
            let mut after = Value::Null;
            // Two pages: the second starts at the first one's cursor.
            for page in 0..2 {
                let vars = json!({ "after": after });
                let a = app.data_as(token.as_deref(), &compiled, vars.clone()).await;
                let b = app.data_as(token.as_deref(), &executed, vars).await;
                let edges = a["complaints"]["edges"].as_array().expect("edges");
                assert!(!edges.is_empty(), "{backend:?} {role:?} page {page}: no rows");
                assert!(
                    b["complaints"]["nodes"][0]["history"].is_array(),
                    "{backend:?} {role:?}: the executed page lacks its extra field"
                );
                assert_eq!(a, without(b, "history"), "{backend:?} {role:?} page {page}");
                let first = &edges[0]["node"];
                assert_eq!(first["__typename"], "Complaint");
                assert_eq!(first["alsoNumber"], first["number"]);
                assert_eq!(first["due"], first["resolutionDueAt"]);
                assert!(first["isPublic"].is_boolean() && first["priority"].is_string());
                assert!(first["place"]["name"].is_string(), "{first:#}");
                after = edges.last().expect("rows")["cursor"].clone();
            }
        }
        // The pages above hold assigned complaints with nested staff and departments, so
        // the nested plans were compared too.
        let assigned =
            app.data(&page_query(Role::Operator, ""), json!({ "after": null })).await["complaints"]
                ["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .filter(|n| n["assignee"]["department"]["code"].is_string())
                .count();
        assert!(assigned > 0, "{backend:?}: no assigned complaint on the first page");
    }
}

/// Every field of `Complaint` in the schema except the history lists (they read `id` only),
/// objects with their first field.
fn complaint_fields() -> Vec<String> {
    use async_graphql::parser::{
        parse_schema,
        types::{BaseType, TypeKind, TypeSystemDefinition},
    };
    let doc = parse_schema(cur_gateway::graphql::sdl()).expect("SDL");
    let complaint = doc
        .definitions
        .iter()
        .find_map(|d| match d {
            TypeSystemDefinition::Type(t) if t.node.name.node == "Complaint" => Some(&t.node.kind),
            _ => None,
        })
        .expect("type Complaint");
    let TypeKind::Object(object) = complaint else { panic!("Complaint is an object") };
    let scalars = ["String", "ID", "Int", "Float", "Boolean", "DateTime"];
    let mut fields = Vec::new();
    for field in &object.fields {
        let name = field.node.name.node.to_string();
        match &field.node.ty.node.base {
            BaseType::List(_) => continue,
            BaseType::Named(ty) if scalars.contains(&ty.as_str()) => fields.push(name),
            BaseType::Named(ty)
                if doc.definitions.iter().any(|d| {
                    matches!(d,
                TypeSystemDefinition::Type(t) if t.node.name.node == *ty
                    && matches!(t.node.kind, TypeKind::Enum(_)))
                }) =>
            {
                fields.push(name)
            }
            // An object: its first field (`id`, or the author's `name`) shows which one.
            BaseType::Named(ty) => {
                let first = doc
                    .definitions
                    .iter()
                    .find_map(|d| match d {
                        TypeSystemDefinition::Type(t) if t.node.name.node == *ty => {
                            match &t.node.kind {
                                TypeKind::Object(o) => Some(o.fields[0].node.name.node.clone()),
                                _ => None,
                            }
                        }
                        _ => None,
                    })
                    .expect("object type");
                fields.push(format!("{name} {{ {first} }}"));
            }
        }
    }
    fields
}

#[tokio::test]
async fn each_field_alone_reads_the_columns_it_needs() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        // Pages that read every column, then the same pages selecting one field each: a
        // field whose page left out a column it needs answers a placeholder (or an error).
        // The newest and the oldest complaints together vary in every field, so no
        // placeholder can pass for the real values.
        let fields = complaint_fields();
        assert!(fields.len() >= 22, "{fields:?}");
        let page = |fields: &str, dir: &str| {
            format!(
                "{{ complaints(first: 60, orderBy: {{ field: RECEIVED_AT, direction: {dir} }}) \
                 {{ nodes {{ id {fields} }} }} }}"
            )
        };
        let nodes = |data: Value| data["complaints"]["nodes"].as_array().expect("nodes").clone();
        for dir in ["DESC", "ASC"] {
            let full = nodes(app.data(&page(&fields.join(" "), dir), json!({})).await);
            for field in &fields {
                let key = field.split_whitespace().next().expect("name");
                let alone = nodes(app.data(&page(field, dir), json!({})).await);
                assert_eq!(alone.len(), full.len(), "{backend:?} {key}");
                for (a, f) in alone.iter().zip(&full) {
                    assert_eq!(a["id"], f["id"], "{backend:?} {key}");
                    assert_eq!(a[key], f[key], "{backend:?} {key} of complaint {}", f["id"]);
                }
            }
        }
        let both: Vec<Value> = [
            nodes(app.data(&page(&fields.join(" "), "DESC"), json!({})).await),
            nodes(app.data(&page(&fields.join(" "), "ASC"), json!({})).await),
        ]
        .concat();
        for field in &fields {
            let key = field.split_whitespace().next().expect("name");
            let values: std::collections::HashSet<String> =
                both.iter().map(|n| n[key].to_string()).collect();
            assert!(values.len() > 1, "{backend:?}: `{key}` is {values:?} on every row tested");
        }
    }
}

#[tokio::test]
async fn answers_keep_the_order_of_the_selection() {
    let app = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    // `totalCount` waits for Postgres while `edges` and `pageInfo` are built at once; the
    // root fields, too, finish in another order than they were asked in.
    let query = "{ complaints(first: 3) { totalCount pageInfo { hasNextPage endCursor } \
                 edges { node { status id number } cursor } } \
                 kpis(filter: { from: \"2025-01-01T00:00:00Z\", to: \"2027-01-01T00:00:00Z\" }, \
                 groupBy: CATEGORY) { key received } municipalities { name id } }";
    let body = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.operator)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(!body.contains("\"errors\""), "{body}");
    let at =
        |key: &str| body.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key}: {body}"));
    let asked = [
        "complaints",
        "totalCount",
        "pageInfo",
        "hasNextPage",
        "endCursor",
        "edges",
        "status",
        "id",
        "number",
        "cursor",
        "kpis",
        "municipalities",
    ];
    for pair in asked.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}: {body}", pair[0], pair[1]);
    }
    // Within every object: each edge's node lists status, id, number in that order.
    let first_node = &body[at("node")..];
    let pos = |key: &str| first_node.find(&format!("\"{key}\":")).expect("key");
    assert!(pos("status") < pos("id") && pos("id") < pos("number"), "{body}");
}

// Two workers: a handler stuck expanding the cycle would hold one, and the timeout still fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_cycle_is_refused_at_once() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    // Each level spreads the cycle twice: expanded naively, 2^n selections.
    let query = "{ complaints { nodes { ...A } } } \
                 fragment A on Complaint { id ...A ...A ...B } \
                 fragment B on Complaint { number ...A ...B ...B }";
    let Ok(answer) =
        tokio::time::timeout(std::time::Duration::from_secs(10), app.gql(query, json!({}))).await
    else {
        // A handler stuck expanding the cycle would also stall the runtime's shutdown, so a
        // panic would hang here instead of failing: end the test process.
        eprintln!("no answer within 10 s to a fragment cycle");
        std::process::exit(101);
    };
    assert!(answer["errors"][0]["message"].is_string(), "{answer:#}");
    assert!(answer["data"].is_null() || answer.get("data").is_none(), "{answer:#}");
    // The gateway still serves.
    app.data("{ complaints(first: 1) { nodes { id } } }", json!({})).await;
}
