//! Traces over OTLP (built with `--features otlp`): the gateway process sends its request
//! spans — with the operation, role and subject, never the variables — to a collector.
use crate::helpers::{Backend, TestDb, mint};
use crate::process::Process;
use cur_gateway::auth::Role;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A collector that keeps the body of every POST to /v1/traces.
async fn collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { return };
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match tcp.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while data.len() < end + 4 + length {
                        match tcp.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    }
                    if head.starts_with("post /v1/traces") {
                        kept.lock().expect("lock").push(data[end + 4..end + 4 + length].to_vec());
                    }
                    data.drain(..end + 4 + length);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if tcp.write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_an_otlp_collector_without_variables() {
    let (endpoint, bodies) = collector().await;
    let mut db = TestDb::new(Backend::Postgres).await;
    let url = db.config.database_url.clone().expect("a Postgres URL");
    let secret = "a-secret-of-the-otlp-test";
    let mut process = Process::serve(&[
        ("DATABASE_URL", url),
        ("CUR_JWT_SECRET", secret.to_owned()),
        ("CUR_DEV", "false".to_owned()),
        ("CUR_DEADLINE_WATCH_SECS", "0".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]);
    db.config.auth.jwt_secret = Some(secret.to_owned());
    db.config.dev = Some(false);
    let token = mint(&db.config, Role::Operator, None, None);
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://{}/graphql", process.addr))
        .bearer_auth(&token)
        .json(&json!({ "query": "query Towns($x: String) { municipalities { id } }",
                       "variables": { "x": "Переменная-с-персональными-данными" } }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    // Stopping flushes what is queued.
    process.terminate();
    tokio::task::block_in_place(|| process.wait(Duration::from_secs(15))).expect("exit");
    let started = Instant::now();
    while bodies.lock().expect("lock").is_empty() && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all: Vec<u8> = bodies.lock().expect("lock").concat();
    let has = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!all.is_empty(), "no spans arrived");
    for expected in ["cur-gateway", "request", "Towns", "operator", "test-operator", "/graphql"] {
        assert!(has(expected), "the spans lack {expected:?}");
    }
    assert!(!has("Переменная-с-персональными-данными"), "a variable reached the collector");
}
