//! An Open311 GeoReport v2 client round trip over real HTTP: services, POST with an API key,
//! re-POST, GET one and GET a filtered list, and the spec's error bodies.
use crate::helpers::{Backend, TestApp};
use serde_json::{Value, json};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let resp = app.client.get(app.url(path)).send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

async fn post(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(form)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

fn assert_spec_error(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body[0]["code"], expected, "errors are [{{code, description}}]: {body}");
    assert!(body[0]["description"].is_string());
}

#[tokio::test]
async fn an_open311_client_round_trip() {
    let app = TestApp::spawn_configured(Backend::Postgres, 30, |c| {
        c.open311_api_keys = Some("k-123=city-app, k-456 = other-app".into());
    })
    .await;
    let (status, services) = get(&app, "/open311/v2/services.json").await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = services
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["service_code"].as_str().unwrap_or(""))
        .collect();
    assert!(codes.contains(&"roads") && codes.len() == 9, "{codes:?}");
    assert_eq!(services[0]["type"], "realtime");
    let (status, def) = get(&app, "/open311/v2/services/roads.json").await;
    assert_eq!((status, def["service_code"].clone()), (200, json!("roads")));

    let form = [
        ("api_key", "k-123"),
        ("service_code", "roads"),
        ("jurisdiction_id", "surgut"),
        ("lat", "61.254"),
        ("long", "73.396"),
        ("address_string", "ул. Ленина, 15"),
        ("description", "Глубокая яма на проезжей части, звоните +7 912 345-67-89"),
        ("first_name", "Анна"),
        ("last_name", "Смирнова"),
        ("email", "anna@example.ru"),
    ];
    let (status, created) = post(&app, &form).await;
    assert_eq!(status, 201, "{created}");
    let id = created[0]["service_request_id"].as_str().expect("service_request_id").to_owned();
    assert!(id.starts_with("86-"), "{id}");
    let (status, again) = post(&app, &form).await;
    assert_eq!(
        (status, again[0]["service_request_id"].as_str()),
        (200, Some(id.as_str())),
        "re-posting is idempotent"
    );

    let (status, one) = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(status, 200, "{one}");
    let r = &one[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "roads");
    assert_eq!(r["agency_responsible"], "Администрация города Сургута");
    assert_eq!(r["lat"], 61.254);
    let description = r["description"].as_str().expect("description");
    assert!(description.contains("Глубокая яма") && !description.contains("912"), "{description}");
    assert!(r.get("email").is_none() && r.get("first_name").is_none(), "no submitter fields");
    for key in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        let t = r[key].as_str().expect(key);
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{key}: {t}");
    }

    // An answer to the citizen is the request's status_notes, as its GET shows it.
    assert!(r["status_notes"].is_null(), "{r}");
    let rows = app
        .db
        .sql(
            "SELECT id, version, municipality_id FROM complaint WHERE number = $1",
            vec![id.clone().into()],
        )
        .await;
    let (cid, version, town): (i64, i32, i32) = (
        rows[0].try_get_by_index(0).expect("id"),
        rows[0].try_get_by_index(1).expect("version"),
        rows[0].try_get_by_index(2).expect("municipality"),
    );
    let town_token = app.token(cur_gateway::auth::Role::Municipality, None, Some(town));
    let answered = app
        .data_as(
            Some(&town_token),
            "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"Яму заделаем до пятницы, справки: +7 912 000-11-22\", public: true, expectedVersion: $v) { version } }",
            json!({ "id": cid.to_string(), "v": version }),
        )
        .await;
    assert_eq!(answered["respondToComplaint"]["version"], version + 1, "{answered}");
    let (_, after) = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    let notes = after[0]["status_notes"].as_str().expect("status_notes");
    assert!(notes.contains("Яму заделаем") && !notes.contains("912"), "masked: {notes}");
    let at =
        |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("time");
    assert!(at(&after[0]["updated_datetime"]) >= at(&r["updated_datetime"]), "{after}");
    // An internal note after it is not the citizen's answer.
    let noted = app
        .data_as(
            Some(&town_token),
            "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"внутренняя заметка\", public: false, expectedVersion: $v) { version } }",
            json!({ "id": cid.to_string(), "v": version + 1 }),
        )
        .await;
    assert_eq!(noted["respondToComplaint"]["version"], version + 2, "{noted}");
    let (_, later) = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(later[0]["status_notes"], after[0]["status_notes"], "{later}");

    let (status, list) =
        get(&app, &format!("/open311/v2/requests.json?service_request_id={id},86-0000-0000000"))
            .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (_, open) =
        get(&app, "/open311/v2/requests.json?service_code=roads&status=open&jurisdiction_id=1")
            .await;
    assert!(open.as_array().expect("list").iter().any(|r| r["service_request_id"] == id.as_str()));
    assert!(
        open.as_array()
            .expect("list")
            .iter()
            .all(|r| r["status"] == "open" && r["service_code"] == "roads")
    );
    let (_, closed) = get(&app, "/open311/v2/requests.json?status=closed").await;
    assert!(closed.as_array().expect("list").iter().all(|r| r["status"] == "closed"));

    // The same complaint through GraphQL, as an operator: source, author, routing.
    let q = "query($n: String!) { complaints(filter: { search: $n }) { edges { node { source isPublic author { name email } department { code } history { actor } } } } }";
    let data = app.data(q, json!({ "n": id })).await;
    let node = &data["complaints"]["edges"][0]["node"];
    assert_eq!(node["source"], "OPEN311");
    assert_eq!(node["author"], json!({ "name": "Анна Смирнова", "email": "anna@example.ru" }));
    assert_eq!(node["history"][0]["actor"], "integration:city-app");

    // Errors as the spec shapes them, and nothing written.
    let before = app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await;
    let mut bad_key = form.to_vec();
    bad_key[0] = ("api_key", "nope");
    let (status, body) = post(&app, &bad_key).await;
    assert_spec_error(status, &body, 403);
    for (drop, why) in [
        ("service_code", "service"),
        ("jurisdiction_id", "jurisdiction"),
        ("description", "description"),
    ] {
        let form: Vec<_> = form.iter().copied().filter(|(k, _)| *k != drop).collect();
        let (status, body) = post(&app, &form).await;
        assert_spec_error(status, &body, 400);
        assert!(body[0]["description"].as_str().unwrap_or("").contains(why), "{why}: {body}");
    }
    let no_location: Vec<_> = form
        .iter()
        .copied()
        .filter(|(k, _)| !matches!(*k, "lat" | "long" | "address_string"))
        .collect();
    let (status, body) = post(&app, &no_location).await;
    assert_spec_error(status, &body, 400);
    let mut bad_lat = form.to_vec();
    bad_lat[3] = ("lat", "north");
    let (status, body) = post(&app, &bad_lat).await;
    assert_spec_error(status, &body, 400);
    let resp = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .header("content-type", "application/json")
        .body("{\"api_key\": \"k-123\"}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 400);
    assert_eq!(app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await, before);

    let (status, body) = get(&app, "/open311/v2/requests/86-0000-0000000.json").await;
    assert_spec_error(status, &body, 404);
    let (status, body) = get(
        &app,
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
    )
    .await;
    assert_spec_error(status, &body, 400);
    let (status, body) = get(&app, "/open311/v2/requests.json?status=maybe").await;
    assert_spec_error(status, &body, 400);
}
