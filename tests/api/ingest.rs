//! Ingestion: classification, routing, deadlines, per-item results, idempotency under
//! re-delivery and under concurrent delivery.
use crate::helpers::{BOTH, Backend, TestApp, error_code};
use cur_gateway::auth::Role;
use serde_json::{Value, json};

const INGEST: &str = r#"
mutation Ingest($input: [IngestComplaintInput!]!) {
  ingestComplaints(input: $input) {
    created duplicates rejected
    items { status externalId complaintId number reason
            complaint { category status receivedAt firstResponseDueAt resolutionDueAt
                        department { code } municipality { id } history { from to actor } } }
  }
}"#;

fn item(external: &str, text: &str, extra: Value) -> Value {
    let mut v = json!({ "source": "VK", "externalId": external, "text": text, "municipalityId": "1",
                        "author": { "name": "Иванова Мария", "profileUrl": "https://vk.com/id1" } });
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    v
}

async fn rows_of(app: &TestApp, table: &str) -> i64 {
    app.db.sql_i64(&format!("SELECT COUNT(*) FROM {table}"), vec![]).await
}

#[tokio::test]
async fn a_batch_is_classified_routed_and_reported_item_by_item() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 20, 7).await;
        let before = rows_of(&app, "complaint").await;
        let input = json!([
            item(
                "vk-1",
                "В больнице на ул. Ленина третью неделю нет лекарств для льготников",
                json!({})
            ),
            item(
                "vk-2",
                "Яма на дороге",
                json!({ "category": "ROADS", "receivedAt": "2026-11-27T10:00:00Z" })
            ),
            item("vk-3", "   ", json!({})),
            item("vk-4", "Текст", json!({ "municipalityId": "999" })),
            item("vk-5", "Текст", json!({ "receivedAt": "2099-01-01T00:00:00Z" })),
            item("vk-1", "Повтор того же поста", json!({})),
            item("vk-6", &"я".repeat(60 * 1024), json!({})),
        ]);
        let data = app.data(INGEST, json!({ "input": input })).await;
        let r = &data["ingestComplaints"];
        assert_eq!(
            (r["created"].as_i64(), r["duplicates"].as_i64(), r["rejected"].as_i64()),
            (Some(2), Some(1), Some(4)),
            "{backend:?}: {r:#}"
        );
        let items = r["items"].as_array().expect("items");
        let statuses: Vec<&str> =
            items.iter().map(|i| i["status"].as_str().unwrap_or("")).collect();
        assert_eq!(
            statuses,
            ["CREATED", "CREATED", "REJECTED", "REJECTED", "REJECTED", "DUPLICATE", "REJECTED"]
        );
        assert_eq!(
            items[5]["complaintId"], items[0]["complaintId"],
            "a repeat points at the first"
        );
        for (i, needle) in [(2, "empty"), (3, "unknown municipality"), (4, "future"), (6, "limit")]
        {
            assert!(items[i]["reason"].as_str().unwrap_or("").contains(needle), "{}", items[i]);
        }

        // Classified and routed by the rules; deadlines from the VK policy (24 hours).
        let health = &items[0]["complaint"];
        assert_eq!(health["category"], "HEALTHCARE");
        assert_eq!(health["status"], "ASSIGNED");
        assert_eq!(health["department"]["code"], "health");
        let history: Vec<(Value, Value)> = health["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|h| (h["from"].clone(), h["to"].clone()))
            .collect();
        assert_eq!(history, [(Value::Null, json!("NEW")), (json!("NEW"), json!("ASSIGNED"))]);
        assert_eq!(health["history"][0]["actor"], "operator:test-operator");
        let roads = &items[1]["complaint"];
        assert_eq!(roads["category"], "ROADS");
        assert_eq!(
            roads["department"]["code"], "admin-surgut",
            "local roads go to the administration"
        );
        assert_eq!(roads["firstResponseDueAt"], "2026-11-28T10:00:00+00:00");
        assert!(items[1]["number"].as_str().unwrap_or("").starts_with("86-2026-"));

        assert_eq!(rows_of(&app, "complaint").await, before + 2, "{backend:?}");
        assert_eq!(rows_of(&app, "complaint_search").await, before + 2);

        // Delivering the same batch again writes nothing and returns the same complaints.
        let events = rows_of(&app, "status_event").await;
        let again = app.data(INGEST, json!({ "input": input })).await;
        let again = &again["ingestComplaints"];
        assert_eq!(again["created"], 0);
        assert_eq!(again["duplicates"], 3);
        assert_eq!(again["items"][0]["complaintId"], items[0]["complaintId"]);
        assert_eq!(rows_of(&app, "complaint").await, before + 2);
        assert_eq!(rows_of(&app, "status_event").await, events);
    }
}

#[tokio::test]
async fn only_ingesting_roles_may_ingest_and_batches_are_bounded() {
    let app = TestApp::spawn_with(Backend::Sqlite, 10, 7).await;
    let one = json!({ "input": [item("x-1", "Нет света в подъезде", json!({}))] });
    for (token, allowed) in [
        (Some(app.token(Role::Integration, None, None)), true),
        (Some(app.token(Role::Governor, None, None)), false),
        (Some(app.token(Role::Ministry, Some(2), None)), false),
        (None, false),
    ] {
        let (_, resp) = app.gql_as(token.as_deref(), INGEST, one.clone()).await;
        if allowed {
            assert!(resp["errors"].is_null(), "{resp}");
            // The integration may not read complaints: the item reports id and number only.
            let item = &resp["data"]["ingestComplaints"]["items"][0];
            assert!(item["number"].is_string() && item["complaint"].is_null(), "{item}");
        } else {
            assert_eq!(error_code(&resp), Some("FORBIDDEN"), "{resp}");
        }
    }
    let big: Vec<Value> = (0..1001).map(|i| item(&format!("b-{i}"), "Текст", json!({}))).collect();
    let resp = app.gql(INGEST, json!({ "input": big })).await;
    assert_eq!(error_code(&resp), Some("BAD_USER_INPUT"));
    let resp = app
        .gql(INGEST, json!({ "input": [item("e-1", "Текст", json!({ "source": "FAX" }))] }))
        .await;
    assert!(resp["errors"].is_array(), "an unknown enum is refused: {resp}");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_complaint_make_one_row() {
    let app = TestApp::spawn_with(Backend::Postgres, 10, 7).await;
    let before = rows_of(&app, "complaint").await;
    let body = json!({ "input": [item("tg-777", "Не ходит автобус №5 уже неделю", json!({ "source": "TELEGRAM" }))] });
    let runs = (0..50).map(|_| app.gql(INGEST, body.clone()));
    let answers = futures_util::future::join_all(runs).await;
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for a in &answers {
        let item = &a["data"]["ingestComplaints"]["items"][0];
        assert!(a["errors"].is_null(), "{a}");
        if item["status"] == "CREATED" {
            created += 1;
        }
        ids.insert(item["complaintId"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(created, 1, "exactly one delivery registers it");
    assert_eq!(ids.len(), 1, "all 50 answers name the same complaint");
    assert_eq!(rows_of(&app, "complaint").await, before + 1);
    let events = app.db.sql_i64("SELECT COUNT(*) FROM status_event WHERE complaint_id = (SELECT id FROM complaint WHERE external_id = 'tg-777')", vec![]).await;
    assert_eq!(events, 2, "one registration, one routing");
}

#[tokio::test]
async fn operators_edit_routing_rules_and_ingestion_follows_them() {
    let app = TestApp::spawn_with(Backend::Sqlite, 10, 7).await;
    let admin = app
        .db
        .sql_i64(
            "SELECT id FROM department WHERE kind = 'municipal' AND municipality_id = 3",
            vec![],
        )
        .await;
    let set = "mutation($d: ID!) { setRoutingRule(category: HEALTHCARE, municipalityId: \"3\", departmentId: $d) { id category municipality { id } department { id } } }";
    let ministry = app.token(Role::Ministry, Some(2), None);
    let (_, resp) = app.gql_as(Some(&ministry), set, json!({ "d": admin.to_string() })).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
    let resp = app.gql(set, json!({ "d": "9999" })).await;
    assert_eq!(error_code(&resp), Some("BAD_USER_INPUT"));
    let rule = app.data(set, json!({ "d": admin.to_string() })).await["setRoutingRule"].clone();
    assert_eq!(rule["department"]["id"], admin.to_string());
    // Setting the same pair again replaces the rule rather than adding one.
    let again = app.data(set, json!({ "d": admin.to_string() })).await["setRoutingRule"].clone();
    assert_eq!(again["id"], rule["id"]);

    let text = "Закрыли поликлинику в посёлке, к врачу ехать 80 км";
    let routed =
        |ext: &str| json!({ "input": [item(ext, text, json!({ "municipalityId": "3" }))] });
    let data = app.data(INGEST, routed("r-1")).await;
    assert_eq!(
        data["ingestComplaints"]["items"][0]["complaint"]["department"]["code"],
        json!(format!(
            "admin-{}",
            app.db
                .sql_column::<String>(
                    "SELECT lower(name_en) FROM municipality WHERE id = 3",
                    vec![]
                )
                .await[0]
        ))
    );

    let delete = "mutation($id: ID!) { deleteRoutingRule(id: $id) }";
    assert_eq!(app.data(delete, json!({ "id": rule["id"] })).await["deleteRoutingRule"], true);
    let data = app.data(INGEST, routed("r-2")).await;
    assert_eq!(
        data["ingestComplaints"]["items"][0]["complaint"]["department"]["code"], "health",
        "back to the region-wide rule"
    );
    let resp = app.gql(delete, json!({ "id": rule["id"] })).await;
    assert_eq!(error_code(&resp), Some("NOT_FOUND"));
    let rules = app.data("{ routingRules { id } }", json!({})).await;
    assert!(
        rules["routingRules"].as_array().is_some_and(|r| r.len() > 100),
        "the default rules are listed"
    );
}

#[tokio::test]
async fn concurrent_edits_of_one_routing_rule_leave_one_rule_and_no_errors() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 20, 7).await;
        let set = "mutation($m: ID, $d: ID!) { setRoutingRule(category: ROADS, municipalityId: $m, departmentId: $d) { id department { id } } }";
        for municipality in [Value::Null, json!("3")] {
            // No rule for the pair yet: every edit races to create it.
            let same = match municipality {
                Value::Null => "municipality_id IS NULL".to_owned(),
                _ => "municipality_id = 3".to_owned(),
            };
            app.db
                .sql(
                    &format!("DELETE FROM routing_rule WHERE category = 'ROADS' AND {same}"),
                    vec![],
                )
                .await;
            let edits = (0..48).map(|i| {
                let vars = json!({ "m": municipality, "d": (1 + i % 3).to_string() });
                let app = &app;
                async move { app.gql(set, vars).await }
            });
            for resp in futures_util::future::join_all(edits).await {
                assert!(resp.get("errors").is_none(), "{backend:?}: {resp}");
            }
            let rules = app
                .db
                .sql_i64(
                    &format!(
                        "SELECT COUNT(*) FROM routing_rule WHERE category = 'ROADS' AND {same}"
                    ),
                    vec![],
                )
                .await;
            assert_eq!(rules, 1, "{backend:?} {municipality}: one rule per pair");
        }
    }
}
