//! Subscriptions over WebSocket: the protocol's close codes, both subprotocols, role scopes on
//! events (against SQL written here), resuming from a cursor with nothing lost or doubled, a
//! write on one replica reaching a subscriber on another, KPI updates, and sessions that end
//! when their token expires or is revoked.
use crate::cache::pair;
use crate::helpers::{BOTH, Backend, TestApp, error_code};
use crate::ws::{Ws, connected};
use cur_gateway::auth::Role;
use serde_json::{Value, json};
use std::time::Duration;

const EVENTS: &str = "subscription($f: ComplaintFilter, $after: String) {
  complaintEvents(filter: $f, after: $after) {
    cursor kind at complaint { id externalId status department { id } text }
  }
}";

const INGEST: &str = "mutation($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created items { complaintId } } }";

/// Ingest e-mails with these external ids in municipality `m` (one batch).
async fn ingest(app: &TestApp, m: i32, ids: &[String]) -> Vec<i64> {
    ingest_from(app, "EMAIL", m, ids).await
}

/// Ingest items from `source` (social networks are public) in municipality `m`.
async fn ingest_from(app: &TestApp, source: &str, m: i32, ids: &[String]) -> Vec<i64> {
    let items: Vec<Value> = ids
        .iter()
        .map(|e| {
            json!({ "source": source, "externalId": e, "municipalityId": m.to_string(),
                    "text": "Во дворе не убирают снег, телефон +7 912 345-67-89",
                    "author": { "name": "Иван Петров", "phone": "+79123456789" } })
        })
        .collect();
    let data = app.data(INGEST, json!({ "items": items })).await;
    data["ingestComplaints"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["complaintId"].as_str().expect("created").parse().expect("an id"))
        .collect()
}

fn external_ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

/// The `next` payload's event.
fn event(msg: &Value) -> &Value {
    assert_eq!(msg["type"], "next", "{msg}");
    &msg["payload"]["data"]["complaintEvents"]
}

#[tokio::test]
async fn close_codes_follow_graphql_transport_ws() {
    let app =
        TestApp::spawn_configured(Backend::Sqlite, 50, |c| c.live.ws_init_timeout_ms = 300).await;
    // The subprotocol is chosen from the client's header.
    assert_eq!(
        Ws::open(&app, "graphql-transport-ws").await.protocol.as_deref(),
        Some("graphql-transport-ws")
    );
    assert_eq!(Ws::open(&app, "graphql-ws").await.protocol.as_deref(), Some("graphql-ws"));
    // 4400: not a message of the protocol.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.send_text("{not json").await;
    assert_eq!(ws.closed().await.0, 4400);
    let mut ws = connected(&app, None).await;
    ws.send(json!({ "type": "subscribe", "payload": { "query": "{ me { role } }" } })).await;
    assert_eq!(ws.closed().await.0, 4400, "a subscribe without an id");
    // 4401: subscribe before the ack.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(ws.closed().await.0, 4401);
    // 4403: a refused token.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } }))
        .await;
    assert_eq!(ws.closed().await.0, 4403);
    // 4408: no init in time.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    let started = std::time::Instant::now();
    assert_eq!(ws.closed().await.0, 4408);
    assert!(started.elapsed() >= Duration::from_millis(250), "closed before the wait");
    // 4429: a second init.
    let mut ws = connected(&app, None).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.closed().await.0, 4429);
    // 4409: an id in use.
    let mut ws = connected(&app, Some(&app.operator)).await;
    ws.subscribe("a", EVENTS, json!({})).await;
    ws.subscribe("a", EVENTS, json!({})).await;
    assert_eq!(ws.closed().await.0, 4409);
    // Pings are answered with pongs carrying the same payload.
    let mut ws = connected(&app, None).await;
    ws.send(json!({ "type": "ping", "payload": { "n": 1 } })).await;
    assert_eq!(ws.next().await, json!({ "type": "pong", "payload": { "n": 1 } }));
    // The token may come as `token` too.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    let ack = ws.init_with(json!({ "token": app.operator })).await;
    assert_eq!(ack["type"], "connection_ack");
}

#[tokio::test]
async fn queries_errors_and_the_legacy_protocol() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 50, |_| {}).await;
    let mut ws = connected(&app, Some(&app.operator)).await;
    // A query over the socket: one result, then complete.
    ws.subscribe("q", "{ me { role } }", json!({})).await;
    let next = ws.next().await;
    assert_eq!(next["payload"]["data"]["me"]["role"], "operator", "{next}");
    assert_eq!(ws.next().await, json!({ "id": "q", "type": "complete" }));
    // A refused subscription: `error` with codes; the id is free again.
    ws.subscribe("e", EVENTS, json!({ "after": "not-a-cursor" })).await;
    let err = ws.next().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{err}");
    ws.subscribe("e", "subscription { complaintEvents { nope } }", json!({})).await;
    let err = ws.next().await;
    assert_eq!(err["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{err}");
    // The public may not subscribe to fields its role never sees.
    let mut public = connected(&app, None).await;
    public
        .subscribe(
            "k",
            "subscription { complaintEvents { complaint { author { name } } } }",
            json!({}),
        )
        .await;
    let err = public.next().await;
    assert_eq!(err["payload"][0]["extensions"]["code"], "FORBIDDEN", "{err}");

    // Legacy graphql-ws: start/data/stop, errors and keep-alives.
    let mut legacy = Ws::open(&app, "graphql-ws").await;
    legacy.init(Some(&app.operator)).await;
    legacy.send(json!({ "id": "1", "type": "start", "payload": { "query": EVENTS } })).await;
    // Let the subscription join before the write.
    tokio::time::sleep(Duration::from_millis(200)).await;
    ingest(&app, 1, &["legacy-1".into()]).await;
    let data = legacy.next().await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["complaintEvents"]["complaint"]["externalId"], "legacy-1");
    legacy.send(json!({ "id": "1", "type": "stop" })).await;
    assert_eq!(legacy.next().await, json!({ "id": "1", "type": "complete" }));
    let mut refused = Ws::open(&app, "graphql-ws").await;
    let answer = refused.init_with(json!({ "Authorization": "Bearer nope" })).await;
    assert_eq!(answer["type"], "connection_error", "{answer}");
    assert_eq!(refused.closed().await.0, 4403);
}

/// The events each role receives, as `(kind, complaint id)`, against SQL over the outbox.
#[tokio::test]
async fn each_role_receives_exactly_its_scope() {
    for backend in BOTH {
        let app = TestApp::spawn_configured(backend, 200, |_| {}).await;
        let (m, d, e) = (3, 2, 4);
        let start: i64 =
            app.db.sql_i64("SELECT COALESCE(MAX(id), 0) FROM complaint_event", vec![]).await;
        let ministry = app.token(Role::Ministry, Some(d), None);
        let municipality = app.token(Role::Municipality, None, Some(m));
        let askers: Vec<(&str, Option<String>)> = vec![
            ("operator", Some(app.operator.clone())),
            ("ministry", Some(ministry.clone())),
            ("municipality", Some(municipality.clone())),
            ("public", None),
            ("governor", Some(app.token(Role::Governor, None, None))),
            ("integration", Some(app.token(Role::Integration, None, None))),
        ];
        let mut sockets = Vec::new();
        for (name, token) in &askers {
            let mut ws = connected(&app, token.as_deref()).await;
            let q = if *name == "ministry" {
                "subscription { complaintEvents { kind complaint { id department { id } author { name } } } }"
            } else {
                // Officials' logins in payloads follow the matrix as in queries.
                "subscription { complaintEvents { kind complaint { id text history { actor actingBody } } } }"
            };
            ws.subscribe("s", q, json!({})).await;
            sockets.push((*name, ws));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // A complaint in M, routed to D, handed on to E, then moved on by E's work.
        let id = ingest(&app, m, &["scope-1".into()]).await[0];
        let assign = "mutation($id: ID!, $d: ID!, $v: Int!) { assignComplaint(id: $id, departmentId: $d, expectedVersion: $v) { version } }";
        let v = ver_of(&app, id).await;
        app.data(assign, json!({ "id": id.to_string(), "d": d.to_string(), "v": v })).await;
        let v = ver_of(&app, id).await;
        app.data(assign, json!({ "id": id.to_string(), "d": e.to_string(), "v": v })).await;
        let v = ver_of(&app, id).await;
        let reject = "mutation($id: ID!, $v: Int!) { rejectComplaint(id: $id, reason: \"не по адресу\", expectedVersion: $v) { version } }";
        app.data(reject, json!({ "id": id.to_string(), "v": v })).await;
        // A public complaint elsewhere changes too: only the operator and the public see it.
        let public_id = ingest_from(&app, "VK", 5, &["scope-public".into()]).await[0];
        let v = ver_of(&app, public_id).await;
        app.data(assign, json!({ "id": public_id.to_string(), "d": e.to_string(), "v": v })).await;

        let sql_scope = [
            ("operator", "TRUE".to_owned()),
            (
                "ministry",
                format!(
                    "(department_id = {d} OR (kind = 'ASSIGNED' AND previous_department_id = {d}))"
                ),
            ),
            ("municipality", format!("municipality_id = {m}")),
            ("public", "is_public".to_owned()),
            ("governor", "TRUE".to_owned()),
            ("integration", "FALSE".to_owned()),
        ];
        let mut authors_shown = 0;
        for ((name, ws), (_, cond)) in sockets.iter_mut().zip(sql_scope) {
            let rows = app
                .db
                .sql(&format!("SELECT kind, complaint_id FROM complaint_event WHERE id > {start} AND {cond} ORDER BY tx, id"), vec![])
                .await;
            let expected: Vec<(String, i64)> = rows
                .iter()
                .map(|r| {
                    let kind: String = r.try_get_by_index(0).expect("kind");
                    (
                        kind.replace("OVERDUE_FIRST_RESPONSE", "OVERDUE")
                            .replace("OVERDUE_RESOLUTION", "OVERDUE"),
                        r.try_get_by_index(1).expect("id"),
                    )
                })
                .collect();
            // The integration role reads no rows: it must receive nothing at all.
            assert_eq!(expected.is_empty(), *name == "integration", "{name}: what to compare");
            let mut got = Vec::new();
            for _ in 0..expected.len() {
                let msg = ws.next().await;
                let ev = event(&msg);
                got.push((
                    ev["kind"].as_str().expect("kind").to_owned(),
                    ev["complaint"]["id"].as_str().expect("id").parse::<i64>().expect("id"),
                ));
                if *name == "public" {
                    let text = ev["complaint"]["text"].as_str().expect("text");
                    assert!(!text.contains("345-67-89"), "the public sees masked texts: {text}");
                }
                if matches!(*name, "public" | "operator") {
                    // The public sees the body that acted, the operator the official's login.
                    let lines = ev["complaint"]["history"].as_array().expect("history").clone();
                    let logins = lines.iter().filter(|l| l["actor"] != l["actingBody"]).count();
                    if *name == "public" {
                        assert_eq!(logins, 0, "the public sees no login: {msg}");
                    } else {
                        assert!(logins > 0, "the operator sees logins: {msg}");
                    }
                }
                if *name == "ministry" {
                    // The author only while the complaint is assigned to the ministry.
                    if ev["complaint"]["department"]["id"].as_str() == Some(d.to_string().as_str())
                    {
                        assert_eq!(ev["complaint"]["author"]["name"], "Иван Петров", "{msg}");
                        authors_shown += 1;
                    } else {
                        assert!(ev["complaint"]["author"].is_null(), "{msg}");
                        assert_eq!(
                            msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
                            "{msg}"
                        );
                    }
                }
            }
            assert_eq!(got, expected, "{backend:?} {name}");
            assert!(
                ws.next_within(Duration::from_millis(500)).await.is_none(),
                "{backend:?} {name}: nothing more"
            );
        }
        // Each author the ministry received is audited under its own subject.
        let audited = app
            .db
            .sql_i64(&format!("SELECT COUNT(*) FROM audit_record WHERE complaint_id = {id} AND sub = 'test-ministry'"), vec![])
            .await;
        assert!(authors_shown >= 1, "{backend:?}: the ministry saw the author while assigned");
        assert_eq!(audited, authors_shown, "{backend:?}");
        // The ministry received the handing-on, then nothing of what E did.
        let ministry_kinds = app
            .db
            .sql_i64(&format!("SELECT COUNT(*) FROM complaint_event WHERE complaint_id = {id} AND kind = 'STATUS_CHANGED' AND department_id = {e}"), vec![])
            .await;
        assert!(ministry_kinds >= 1, "{backend:?}: the rejection happened under E");
    }
}

async fn ver_of(app: &TestApp, id: i64) -> i64 {
    app.db.sql_i64(&format!("SELECT version FROM complaint WHERE id = {id}"), vec![]).await
}

#[tokio::test]
async fn a_resumed_subscription_gets_every_missed_event_once_in_order() {
    for backend in BOTH {
        let app = TestApp::spawn_configured(backend, 50, |_| {}).await;
        let mut ws = connected(&app, Some(&app.operator)).await;
        ws.subscribe("s", EVENTS, json!({ "f": { "source": "EMAIL" } })).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        ingest(&app, 1, &["resume-0".into()]).await;
        let first = ws.next().await;
        let cursor = event(&first)["cursor"].as_str().expect("cursor").to_owned();
        ws.drop_now().await;
        // 100 complaints while nobody listens.
        let missed = external_ids("resume", 1..101);
        ingest(&app, 2, &missed).await;
        let mut ws = connected(&app, Some(&app.operator)).await;
        ws.subscribe("s", EVENTS, json!({ "f": { "source": "EMAIL" }, "after": cursor })).await;
        let mut got = Vec::new();
        for _ in 0..100 {
            let msg = ws.next().await;
            assert_eq!(event(&msg)["kind"], "CREATED");
            got.push(event(&msg)["complaint"]["externalId"].as_str().expect("id").to_owned());
        }
        assert_eq!(got, missed, "{backend:?}: every missed event, once, in order");
        assert!(
            ws.next_within(Duration::from_millis(500)).await.is_none(),
            "{backend:?}: no double"
        );
        // Then the live stream.
        ingest(&app, 2, &["resume-live".into()]).await;
        let live = ws.next().await;
        assert_eq!(event(&live)["complaint"]["externalId"], "resume-live");
        assert!(ws.next_within(Duration::from_millis(300)).await.is_none());
    }
}

#[tokio::test]
async fn a_write_through_one_replica_reaches_a_subscriber_on_the_other() {
    let (one, two) = pair("redis://127.0.0.1:6379").await;
    let mut ws = connected(&two, Some(&two.operator)).await;
    ws.subscribe("s", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    ingest(&one, 1, &["replica-event".into()]).await;
    let msg = ws.next().await;
    assert_eq!(event(&msg)["complaint"]["externalId"], "replica-event");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    // Revoking a subject closes its sockets on every replica.
    let mut other = connected(&one, Some(&one.operator)).await;
    other.subscribe("s", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let revoke = "mutation($s: String!) { revokeSessions(sub: $s) }";
    let revoked = std::time::Instant::now();
    assert_eq!(one.data(revoke, json!({ "s": "test-operator" })).await["revokeSessions"], true);
    assert_eq!(ws.closed().await.0, 4403, "on the other replica");
    assert_eq!(other.closed().await.0, 4403, "on this one");
    assert!(revoked.elapsed() < Duration::from_secs(1), "closed after {:?}", revoked.elapsed());
    // Only operators may revoke.
    let ministry = one.token(Role::Ministry, Some(2), None);
    let (_, resp) = one.gql_as(Some(&ministry), revoke, json!({ "s": "x" })).await;
    assert_eq!(error_code(&resp), Some("FORBIDDEN"));
}

#[tokio::test]
async fn kpi_updates_start_with_the_rows_and_follow_writes() {
    let app =
        TestApp::spawn_configured(Backend::Sqlite, 50, |c| c.live.kpi_interval_ms = 200).await;
    let mut ws = connected(&app, Some(&app.operator)).await;
    let to = chrono::Utc::now() + chrono::Duration::hours(1);
    let from = to - chrono::Duration::days(30);
    let q = "subscription($f: KpiFilter!) { kpiUpdates(filter: $f, groupBy: MUNICIPALITY) { key received } }";
    ws.subscribe("k", q, json!({ "f": { "from": from, "to": to } })).await;
    let total = |msg: &Value| {
        let rows = msg["payload"]["data"]["kpiUpdates"].as_array().expect("rows").clone();
        rows.last().expect("a total row")["received"].as_u64().expect("received")
    };
    let first = ws.next().await;
    let before = total(&first);
    let started = std::time::Instant::now();
    ingest(&app, 1, &["kpi-live".into()]).await;
    let next = ws.next().await;
    assert_eq!(total(&next), before + 1, "{next}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // No change, no message.
    assert!(ws.next_within(Duration::from_millis(600)).await.is_none());
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 20, |_| {}).await;
    let req = cur_gateway::auth::jwt::TokenRequest {
        role: Role::Operator,
        department_id: None,
        municipality_id: None,
        sub: "short".into(),
        ttl: Duration::from_secs(2),
    };
    let token = cur_gateway::auth::jwt::mint(&app.db.config.auth, app.db.config.dev_mode(), &req)
        .expect("mint");
    let mut ws = connected(&app, Some(&token)).await;
    let started = std::time::Instant::now();
    assert_eq!(ws.closed().await.0, 4403);
    assert!(started.elapsed() >= Duration::from_secs(1), "closed at {:?}", started.elapsed());
}

#[tokio::test]
async fn a_subscriber_that_never_reads_holds_no_growing_memory_and_blocks_nobody() {
    // Postgres: SQLite's page caches would grow inside this process with the data.
    let app = TestApp::spawn_configured(Backend::Postgres, 20, |c| {
        c.live.ws_queue = 64;
        // Its session keeps the socket (and the close frame) until the client reads again
        // after all 500 events: the default 3 s ran out first wherever ingesting them took
        // longer, and the client then met a socket already gone (1005).
        c.live.ws_close_wait_ms = 60_000;
        // Nor may the keep-alive close it first (silent for two pings) where the ingests run
        // slowly: this is about a full queue.
        c.live.ws_ping_secs = 600;
        c.max_body_bytes = 8 << 20;
    })
    .await;
    // Takes nothing off its socket after subscribing to big payloads. Its receive buffer is
    // fixed at 256 KB: where the kernel autotunes it (up to 32 MB on some machines) it would
    // take all 500 events and never fall behind.
    let mut stuck =
        crate::ws::connected_with_receive_buffer(&app, Some(&app.operator), 256 << 10).await;
    stuck
        .subscribe("big", "subscription { complaintEvents { complaint { text } } }", json!({}))
        .await;
    // Reads everything, small payloads (another group).
    let mut reader = connected(&app, Some(&app.operator)).await;
    reader.subscribe("small", "subscription { complaintEvents { cursor } }", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Big enough that the kernel's socket buffers hold only about a hundred of them.
    let long_text = "Подъезд не убирают, ".repeat(1000); // about 37 KB
    let batch = |n: usize| -> Vec<Value> {
        (0..50)
            .map(|i| json!({ "source": "EMAIL", "externalId": format!("stuck-{n}-{i}"), "municipalityId": "1", "text": long_text }))
            .collect()
    };
    let mut received = 0;
    for n in 0..10 {
        app.data(INGEST, json!({ "items": batch(n) })).await;
        for _ in 0..50 {
            let msg = reader.next().await;
            assert!(event(&msg)["cursor"].is_string());
            received += 1;
        }
    }
    assert_eq!(received, 500, "the reading subscriber got every event");
    let holding = crate::live_heap();
    // When it reads again: what was in flight, then 1013, so it resumes from its cursor.
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), stuck.next_or_close()).await {
            Ok(Err(code)) => break code,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("no close"),
        }
    };
    assert_eq!(code, 1013);
    // What the stuck subscriber held while 500 events of ~37 KB (18 MB) went past it: the heap
    // it frees once its socket is gone (the database drivers' buffers grow with the data too,
    // so the growth over the run would measure them as well).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = holding.saturating_sub(crate::live_heap());
    eprintln!("the stuck subscriber held {} KiB", held >> 10);
    assert!(held < 6 << 20, "it held {} KiB", held >> 10);
}

#[tokio::test]
async fn limits_on_sockets_and_subscriptions_answer_clearly() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 20, |c| {
        c.live.ws_max_connections = 3;
        c.live.ws_max_subscriptions = 1;
        c.live.ws_max_subscriptions_per_subject = 2;
    })
    .await;
    let code = |msg: &Value| msg["payload"][0]["extensions"]["code"].as_str().map(str::to_owned);
    let mut one = connected(&app, Some(&app.operator)).await;
    let mut two = connected(&app, Some(&app.operator)).await;
    let mut three = connected(&app, Some(&app.operator)).await;
    // A fourth socket: 503 before the upgrade.
    let req = format!("ws://{}/graphql/ws", app.addr);
    let err = tokio_tungstenite::connect_async(req.as_str()).await.expect_err("refused");
    assert!(err.to_string().contains("503"), "{err}");
    // Per socket: one subscription each.
    one.subscribe("a", EVENTS, json!({})).await;
    one.subscribe("b", EVENTS, json!({})).await;
    let refused = one.next().await;
    assert_eq!(
        (refused["id"].as_str(), code(&refused).as_deref()),
        (Some("b"), Some("RATE_LIMITED"))
    );
    // Per subject: the operator's second subscription is allowed, a third (on any socket) not.
    two.subscribe("c", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    three.subscribe("d", EVENTS, json!({})).await;
    let refused = three.next().await;
    assert_eq!(
        (refused["id"].as_str(), code(&refused).as_deref()),
        (Some("d"), Some("RATE_LIMITED"))
    );
    // A subscription that ends frees its place.
    two.send(json!({ "id": "c", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    three.subscribe("e", EVENTS, json!({})).await;
    assert!(three.next_within(Duration::from_millis(400)).await.is_none(), "accepted");
}

#[tokio::test]
async fn a_redis_outage_keeps_the_sockets_and_loses_no_event() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("spare port");
        l.local_addr().expect("addr").port()
    };
    let mut redis = crate::cache::redis_on(port);
    let (one, two) = pair(&format!("redis://127.0.0.1:{port}")).await;
    let mut ws = connected(&two, Some(&two.operator)).await;
    ws.subscribe("s", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ingest(&one, 1, &["outage-0".into()]).await;
    assert_eq!(event(&ws.next().await)["complaint"]["externalId"], "outage-0");
    // Redis goes away: no signal crosses, the other replica's poll reads the outbox.
    redis.kill().expect("kill redis");
    redis.wait().expect("reaped");
    let during = external_ids("outage", 1..21);
    ingest(&one, 2, &during).await;
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(
            event(&ws.next().await)["complaint"]["externalId"].as_str().expect("id").to_owned(),
        );
    }
    assert_eq!(got, during, "every event of the outage, in order");
    // Redis returns: signals flow again, nothing doubled.
    let mut redis = crate::cache::redis_on(port);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ingest(&one, 2, &["outage-back".into()]).await;
    assert_eq!(event(&ws.next().await)["complaint"]["externalId"], "outage-back");
    assert!(ws.next_within(Duration::from_millis(500)).await.is_none(), "nothing doubled");
    let _ = redis.kill();
    let _ = redis.wait();
}

#[tokio::test]
async fn outbox_events_past_their_retention_are_pruned() {
    let mut db = crate::helpers::TestDb::new(Backend::Sqlite).await;
    let opts =
        cur_gateway::seed::SeedOptions { complaints: 20, seed: 7, staff: 50, progress: false };
    cur_gateway::seed::run(&db.db, &opts).await.expect("seed");
    let old = (chrono::Utc::now() - chrono::Duration::hours(30)).to_rfc3339();
    let fresh = chrono::Utc::now().to_rfc3339();
    for (kind, at) in [("CREATED", &old), ("CREATED", &fresh)] {
        db.sql(
            &format!("INSERT INTO complaint_event (complaint_id, kind, at, is_public) VALUES (1, '{kind}', '{at}', false)"),
            vec![],
        )
        .await;
    }
    db.config.live.event_retention_hours = 24;
    let app = TestApp::serve(db).await;
    let mut left = 2;
    for _ in 0..50 {
        left = app.db.sql_i64("SELECT COUNT(*) FROM complaint_event", vec![]).await;
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 1, "the day-old event is gone, the fresh one kept");
}

#[tokio::test]
async fn idle_sockets_are_pinged_and_silent_ones_closed() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 20, |c| c.live.ws_ping_secs = 1).await;
    let mut silent = connected(&app, None).await;
    let mut alive = connected(&app, None).await;
    // The live client reads (its library answers the pings); the silent one reads nothing.
    assert!(alive.next_within(Duration::from_millis(3500)).await.is_none(), "still open");
    // 1001 with its close frame; on a loaded machine the server may drop the socket before its
    // writer got the frame out (it waits 1 s: a client that stopped reading may never take
    // it), which the client sees as 1005/1006. Either way the silent socket is closed.
    let code = silent.closed().await.0;
    assert!(matches!(code, 1001 | 1005 | 1006), "two silent intervals close it: {code}");
    alive.send(json!({ "type": "ping" })).await;
    assert_eq!(alive.next().await["type"], "pong");
}

/// The outbox scope of each asker, in SQL written here (`e` is the event).
fn event_scope(kind: &crate::boundary::Kind) -> String {
    use crate::boundary::Kind;
    match kind {
        Kind::Region => "1 = 1".into(),
        Kind::Ministry(d) => format!(
            "(e.department_id = {d} OR (e.kind = 'ASSIGNED' AND e.previous_department_id = {d}))"
        ),
        Kind::Municipality(m) => format!("e.municipality_id = {m}"),
        Kind::Public => "e.is_public = TRUE".into(),
        Kind::Integration => "1 = 0".into(),
    }
}

/// Every principal of the matrix × every filter field, live and replayed from a cursor: the
/// complaints of the events each receives equal SQL over the outbox (its scope) and the
/// complaints (the filter, as they are after their only event). Both backends.
#[tokio::test]
async fn every_role_and_filter_receives_what_sql_says_live_and_replayed() {
    for backend in BOTH {
        let app = TestApp::spawn_configured(backend, 400, |_| {}).await;
        let askers = crate::boundary::askers(&app).await;
        let filters = crate::boundary::single_filters(&app).await;
        let mut cases = vec![crate::boundary::FilterCase {
            name: "none".into(),
            input: json!({}),
            sql: "1 = 1".into(),
            search: None,
        }];
        cases.extend(filters);
        let now = chrono::Utc::now();
        let at = crate::boundary::Instants {
            now,
            from: now - chrono::Duration::days(20),
            to: now - chrono::Duration::days(5),
        };
        // A cursor before the batch.
        let mut marker = connected(&app, Some(&app.operator)).await;
        marker.subscribe("m", EVENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        ingest(&app, 1, &["grid-marker".into()]).await;
        let cursor = event(&marker.next().await)["cursor"].as_str().expect("cursor").to_owned();
        let start = app.db.sql_i64("SELECT MAX(id) FROM complaint_event", vec![]).await;
        let query = "subscription($f: ComplaintFilter, $after: String) { complaintEvents(filter: $f, after: $after) { complaint { id } } }";
        let subscriptions = |after: Option<String>| {
            let subs: Vec<(String, Value)> = cases
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let vars = json!({ "f": crate::boundary::with_instants(&c.input, at), "after": after });
                    (format!("f{i}"), vars)
                })
                .collect();
            subs
        };
        let mut live = Vec::new();
        for asker in &askers {
            let mut ws = connected(&app, asker.token.as_deref()).await;
            for (id, vars) in subscriptions(None) {
                ws.subscribe(&id, query, vars).await;
            }
            live.push(ws);
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        // The batch: every municipality, categories and sources mixed, old and new, some on
        // Lenin street (the search case).
        let categories =
            ["ROADS", "HEALTHCARE", "HOUSING_UTILITIES", "EDUCATION", "SOCIAL_PROTECTION"];
        let sources = ["VK", "EMAIL", "TELEGRAM", "HOTLINE_122"];
        let items: Vec<Value> = (0..66)
            .map(|i| {
                // Minutes off the hour: no deadline falls in the seconds between the live
                // match (at delivery) and the SQL here (a hotline's first answer is due at once).
                let minutes = [97i64, 10 * 1440 + 7, 30 * 1440 + 7][i % 3];
                let text = if i % 4 == 0 { "Яма на ул. Ленина, 5" } else { "Не убирают двор" };
                json!({ "source": sources[i % 4], "externalId": format!("grid-{i}"),
                        "municipalityId": (i % 22 + 1).to_string(), "category": categories[i % 5],
                        "receivedAt": (now - chrono::Duration::minutes(minutes)).to_rfc3339(), "text": text })
            })
            .collect();
        let created = app.data(INGEST, json!({ "items": items })).await;
        assert_eq!(created["ingestComplaints"]["created"], 66, "{created}");
        let mut replayed = Vec::new();
        for asker in &askers {
            let mut ws = connected(&app, asker.token.as_deref()).await;
            for (id, vars) in subscriptions(Some(cursor.clone())) {
                ws.subscribe(&id, query, vars).await;
            }
            replayed.push(ws);
        }
        let mut non_empty = std::collections::HashSet::new();
        for (how, sockets) in [("live", &mut live), ("replayed", &mut replayed)] {
            for (asker, ws) in askers.iter().zip(sockets.iter_mut()) {
                let mut expected = std::collections::HashMap::new();
                for (i, case) in cases.iter().enumerate() {
                    let refused = case.search.is_some() && !asker.may_search;
                    let (sql, values) = crate::boundary::bind(
                        &format!(
                            "SELECT c.id, c.number, c.text, c.address FROM complaint_event e JOIN complaint c ON c.id = e.complaint_id \
                             WHERE e.id > {start} AND ({}) AND e.complaint_id IN (SELECT id FROM complaint WHERE {}) ORDER BY e.tx, e.id",
                            event_scope(&asker.kind),
                            case.sql
                        ),
                        at,
                    );
                    let ids: Vec<i64> = app
                        .db
                        .sql(&sql, values)
                        .await
                        .iter()
                        .filter(|r| {
                            let Some(needle) = &case.search else { return true };
                            let n: String = r.try_get_by_index(1).expect("number");
                            let t: String = r.try_get_by_index(2).expect("text");
                            let a: Option<String> = r.try_get_by_index(3).expect("address");
                            format!("{n}\n{t}\n{}", a.unwrap_or_default())
                                .to_lowercase()
                                .contains(needle.as_str())
                        })
                        .map(|r| r.try_get_by_index::<i64>(0).expect("id"))
                        .collect();
                    if !ids.is_empty() {
                        non_empty.insert(case.name.clone());
                    }
                    expected.insert(format!("f{i}"), (refused, ids));
                }
                let mut got: std::collections::HashMap<String, Vec<i64>> = Default::default();
                let mut errors: std::collections::HashMap<String, String> = Default::default();
                let wanted: usize =
                    expected.values().map(|(r, ids)| if *r { 1 } else { ids.len() }).sum();
                for _ in 0..wanted {
                    let msg = ws.next().await;
                    let id = msg["id"].as_str().expect("an id").to_owned();
                    if msg["type"] == "error" {
                        errors.insert(
                            id,
                            msg["payload"][0]["extensions"]["code"]
                                .as_str()
                                .unwrap_or("")
                                .to_owned(),
                        );
                        continue;
                    }
                    let c = &event(&msg)["complaint"]["id"];
                    got.entry(id)
                        .or_default()
                        .push(c.as_str().expect("id").parse().expect("number"));
                }
                for (i, case) in cases.iter().enumerate() {
                    let key = format!("f{i}");
                    let (refused, ids) = &expected[&key];
                    let cell = format!("{backend:?} {how} {} × {}", asker.name, case.name);
                    if *refused {
                        assert_eq!(
                            errors.get(&key).map(String::as_str),
                            Some("FORBIDDEN"),
                            "{cell}"
                        );
                    } else {
                        assert_eq!(got.get(&key).cloned().unwrap_or_default(), *ids, "{cell}");
                    }
                }
                assert!(
                    ws.next_within(Duration::from_millis(300)).await.is_none(),
                    "{backend:?} {how} {}: nothing more",
                    asker.name
                );
            }
        }
        // Every filter selected something for some principal, so each cell could fail.
        for case in &cases {
            assert!(non_empty.contains(&case.name), "{backend:?}: no event matches {}", case.name);
        }
    }
}
