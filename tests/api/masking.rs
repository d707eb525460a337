//! The public's masking holds on every surface it reads citizens' words on: complaint texts
//! and addresses (single complaint and compiled list pages), answers, history comments,
//! assignment reasons, and Open311 descriptions and addresses — each exactly the masked text.
use crate::helpers::{BOTH, TestApp};
use cur_gateway::domain::masking::mask;
use serde_json::{Value, json};

/// Personal data in the forms the masking must catch, and words it must keep.
const TEXT: &str = "Добрый день! Во дворе дома 15 по ул. Мира, кв. 48, с 12.03.2026 не вывозят мусор. \
    Звоните 8.912.345.67.89 или +7\u{2011}912\u{2011}345\u{2011}67\u{2011}88, ник:@ivan_petrov, \
    почта ivan.petrov[at]mail.ru, СНИЛС 123-456-789 01, паспорт 67 12 345678, \
    пишите в wa.me/79123456789. Обращение 86-2026-0001253, оплачено 15 000 рублей.";
const ADDRESS: &str = "ул. Мира, 15, кв. 48, тел. 8 (3467) 33-22-11";
const ANSWER: &str = "Ответ направлен на ivan.petrov@mail.ru, диспетчер: 8–3462–34–56–78.";
const COMMENT: &str = "Перезвонили заявителю по номеру 89123456780 (см. https://vk.com/id777).";
const REASON: &str = "Передано по просьбе заявителя, t.me/ivan_p, тел. 22-33-44";

/// Words that must never reach the public.
const LEAKS: [&str; 12] = [
    "912",
    "345",
    "ivan",
    "mail.ru",
    "123-456",
    "345678",
    "79123456789",
    "33-22-11",
    "34–56",
    "vk.com",
    "t.me",
    "22-33-44",
];

fn assert_masked(backend: impl std::fmt::Debug, what: &str, shown: &Value, original: &str) {
    assert_eq!(shown, &json!(mask(original)), "{backend:?}: {what}");
    let text = shown.as_str().expect("a text");
    for leak in LEAKS {
        assert!(!text.contains(leak), "{backend:?}: {what} leaks {leak}: {text}");
    }
}

#[tokio::test]
async fn the_public_reads_masked_texts_on_every_surface() {
    for backend in BOTH {
        let app = TestApp::spawn(backend).await;
        let id = app
            .db
            .sql_i64("SELECT id FROM complaint WHERE is_public = TRUE ORDER BY received_at DESC, id DESC LIMIT 1", vec![])
            .await;
        let set = |sql: &'static str, values: Vec<sea_orm::Value>| {
            let app = &app;
            async move { app.db.sql(sql, values).await }
        };
        set(
            "UPDATE complaint SET text = $1, address = $2 WHERE id = $3",
            vec![TEXT.into(), ADDRESS.into(), id.into()],
        )
        .await;
        set(
            "INSERT INTO response (complaint_id, department_id, staff_id, text, is_public, at) \
             SELECT id, department_id, NULL, $1, TRUE, received_at FROM complaint WHERE id = $2",
            vec![ANSWER.into(), id.into()],
        )
        .await;
        set(
            "UPDATE status_event SET comment = $1 WHERE complaint_id = $2",
            vec![COMMENT.into(), id.into()],
        )
        .await;
        set(
            "INSERT INTO assignment (complaint_id, department_id, staff_id, assigned_by, assigned_at, reason) \
             SELECT id, 1, NULL, 'operator-1', received_at, $1 FROM complaint WHERE id = $2",
            vec![REASON.into(), id.into()],
        )
        .await;
        let number: String = app
            .db
            .sql_column("SELECT number FROM complaint WHERE id = $1", vec![id.into()])
            .await
            .remove(0);

        let one = "query($id: ID!) { complaint(id: $id) { text address responses { text } \
                   history { comment } assignments { reason } } }";
        let data = app.data_as(None, one, json!({ "id": id.to_string() })).await;
        let c = &data["complaint"];
        assert_masked(backend, "text", &c["text"], TEXT);
        assert_masked(backend, "address", &c["address"], ADDRESS);
        let answers: Vec<&Value> =
            c["responses"].as_array().expect("responses").iter().map(|r| &r["text"]).collect();
        assert!(answers.contains(&&json!(mask(ANSWER))), "{backend:?}: answers {answers:?}");
        for e in c["history"].as_array().expect("history") {
            assert_masked(backend, "history comment", &e["comment"], COMMENT);
        }
        let reasons: Vec<&Value> = c["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .map(|a| &a["reason"])
            .collect();
        assert!(reasons.contains(&&json!(mask(REASON))), "{backend:?}: reasons {reasons:?}");
        for r in reasons.iter().filter(|r| !r.is_null()) {
            let r = r.as_str().expect("reason");
            assert!(LEAKS.iter().all(|l| !r.contains(l)), "{backend:?}: reason {r}");
        }

        // The list page (built from compiled plans) masks the same way.
        let page = "{ complaints(first: 1) { nodes { id text address } } }";
        let data = app.data_as(None, page, json!({})).await;
        let row = &data["complaints"]["nodes"][0];
        assert_eq!(row["id"], id.to_string(), "{backend:?}: the newest public complaint");
        assert_masked(backend, "list text", &row["text"], TEXT);
        assert_masked(backend, "list address", &row["address"], ADDRESS);

        // Open311, by id and in the list.
        for path in
            [format!("/open311/v2/requests/{number}.json"), "/open311/v2/requests.json".to_owned()]
        {
            let resp = app.client.get(app.url(&path)).send().await.expect("GET");
            let body: Value = resp.json().await.expect("JSON");
            let r = body
                .as_array()
                .expect("requests")
                .iter()
                .find(|r| r["service_request_id"] == number.as_str())
                .unwrap_or_else(|| panic!("{backend:?}: {number} in {path}"));
            assert_masked(backend, "Open311 description", &r["description"], TEXT);
            assert_masked(backend, "Open311 address", &r["address"], ADDRESS);
        }

        // Staff read the words as written.
        let data = app.data(one, json!({ "id": id.to_string() })).await;
        assert_eq!(data["complaint"]["text"], TEXT);
    }
}
