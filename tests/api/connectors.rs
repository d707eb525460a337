//! Connectors: the connectors file checked, and each kind of source tried once against a real
//! server the test starts — a gateway's own Open311 API, and a JSON feed that misbehaves on
//! demand (malformed, huge, a redirect loop, a redirect to a host it may not reach, busy with
//! `Retry-After`, too slow) — with nothing written.
use crate::helpers::{Backend, TestApp};
use axum::{
    Router,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect},
    routing::get,
};
use chrono::Utc;
use cur_gateway::connectors::{Connectors, check, items::Towns};
use std::{net::SocketAddr, time::Duration};

/// A JSON feed server with one route per way of misbehaving.
async fn feed_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let items = serde_json::json!({ "items": [
        { "id": 1, "text": "Не вывозят мусор", "town": "Сургут", "ts": "2026-11-30T10:00:00Z" },
        { "id": 2, "text": "Яма во дворе", "town": 1 },
        { "id": 3, "town": 1 },
    ], "next": null });
    let app = Router::new()
        .route("/ok", get(move || async move { axum::Json(items.clone()) }))
        .route(
            "/malformed",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{\"items\": [") }),
        )
        .route("/huge", get(|| async { format!("{{\"items\": [{}]}}", "1,".repeat(5_000) + "1") }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/elsewhere",
            get(move || async move {
                Redirect::temporary(&format!("http://localhost:{}/ok", addr.port()))
            }),
        )
        .route(
            "/busy",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert(header::RETRY_AFTER, header::HeaderValue::from_static("7"));
                (StatusCode::SERVICE_UNAVAILABLE, h, "busy").into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "[]"
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    addr
}

fn feed(name: &str, at: SocketAddr, path: &str) -> String {
    format!(
        "[[connector]]\nname = \"{name}\"\nkind = \"json_feed\"\nsource = \"VK\"\n\
         url = \"http://{at}{path}\"\nlist = \"/items\"\ntimeout = \"1s\"\nmax_body_bytes = 4000\n\
         fields = {{ id = \"/id\", text = \"/text\", time = \"/ts\", municipality = \"/town\" }}\n\n"
    )
}

#[tokio::test]
async fn check_tries_each_source_once_and_reports_what_it_found() {
    let gateway = TestApp::spawn_configured(Backend::Sqlite, 60, |_| {}).await;
    let at = feed_server().await;
    let drop = std::env::temp_dir().join(format!(
        "cur-drop-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&drop).expect("drop dir");
    std::fs::write(
        drop.join("hotline.csv"),
        "external_id,received_at,municipality,text\nh-1,2026-11-30T10:00:00Z,Сургут,Нет отопления\nh-2,,Сургут,\n",
    )
    .expect("csv");
    std::fs::write(drop.join("notes.txt"), "not a csv").expect("txt");
    let mut file = format!(
        "[[connector]]\nname = \"surgut-open311\"\nkind = \"open311\"\nurl = \"http://{}/open311/v2\"\n\
         interval = \"30s\"\nmunicipality_id = 1\n\n[[connector]]\nname = \"hotline\"\nkind = \"csv_drop\"\n\
         source = \"HOTLINE_122\"\ndir = \"{}\"\n\n",
        gateway.addr,
        drop.display()
    );
    for (name, path) in [
        ("ok", "/ok"),
        ("malformed", "/malformed"),
        ("huge", "/huge"),
        ("loop", "/loop"),
        ("elsewhere", "/elsewhere"),
        ("busy", "/busy"),
        ("slow", "/slow"),
    ] {
        file.push_str(&feed(name, at, path));
    }
    let connectors = Connectors::parse(&file).expect("a valid file");
    let towns: Towns = [("сургут".to_owned(), 1)].into();
    let started = std::time::Instant::now();
    let reports = check::run(&connectors, &towns, Utc::now()).await;
    let by = |name: &str| reports.iter().find(|r| r.name == name).expect(name);

    // The gateway's own public requests, every one mappable.
    let public = gateway
        .db
        .sql_i64(
            "SELECT COUNT(*) FROM complaint WHERE is_public = TRUE AND received_at >= $1",
            vec![(Utc::now() - chrono::Duration::days(90)).into()],
        )
        .await as usize;
    let open311 = by("surgut-open311").outcome.as_ref().expect("read");
    assert!(public > 0);
    assert_eq!((open311.read, open311.mappable), (public, public), "{}", by("surgut-open311"));

    let ok = by("ok").outcome.as_ref().expect("read");
    assert_eq!((ok.read, ok.mappable), (3, 2));
    assert!(ok.rejected[0].contains("item 3: /text is missing"), "{:?}", ok.rejected);
    let drop_found = by("hotline").outcome.as_ref().expect("read");
    assert_eq!((drop_found.read, drop_found.mappable), (2, 1), "{}", by("hotline"));
    assert!(drop_found.rejected[0].contains("row 3: text is empty"));

    let failed = |name: &str, fragment: &str| {
        let err = by(name).outcome.as_ref().expect_err(name);
        assert!(err.contains(fragment), "{name}: {err}");
    };
    failed("malformed", "not JSON");
    failed("huge", "larger than 4000 bytes");
    failed("loop", "more than 5 redirects");
    failed("elsewhere", "localhost, which this connector may not reach");
    failed("busy", "503 (retry after 7 s)");
    failed("slow", "no answer within 1s");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "each bad source costs its own time limit at most"
    );
    // Nothing was written: the check is read-only.
    assert_eq!(gateway.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await, 60);
    for r in &reports {
        println!("{r}");
    }
    std::fs::remove_dir_all(&drop).ok();
}
