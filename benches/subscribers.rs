//! Load generator for live subscriptions (`benches/subscribers.sh` runs it): opens N
//! WebSockets to a running gateway with a mix of roles, subscribes each to complaint events,
//! then ingests complaints at a steady rate over HTTP and measures, for every event each
//! subscriber receives, the time from the event's `at` (taken in the writing transaction) to
//! its receipt. Prints one JSON line of figures; the gateway's memory and CPU come from its
//! /proc entry (`GATEWAY_PID`).
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const QUERY: &str = "subscription { complaintEvents { at kind complaint { id number status municipality { name } } } }";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

/// Resident memory (KiB) and CPU ticks (user + system) of process `pid`.
fn proc_stats(pid: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    (rss, ticks)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let addr = env("GATEWAY_ADDR");
    let pid = env("GATEWAY_PID");
    let rate: u64 = std::env::var("RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let seconds: u64 =
        std::env::var("SECONDS_OF_INGEST").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    // Tokens by role: operator, three ministries, three municipalities, and the public.
    let tokens: Vec<Option<String>> = env("TOKENS")
        .split(',')
        .map(|t| if t == "public" { None } else { Some(t.to_owned()) })
        .collect();
    let operator = tokens[0].clone().expect("the first token is an operator's");

    let (rss_before, _) = proc_stats(&pid);
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let ready = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let token = tokens[i % tokens.len()].clone();
        let url = format!("ws://{addr}/graphql/ws");
        let (latencies, ready, received) = (latencies.clone(), ready.clone(), received.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = url.into_client_request().expect("request");
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
            let (mut ws, _) = match tokio_tungstenite::connect_async(req).await {
                Ok(ok) => ok,
                Err(err) => {
                    eprintln!("socket {i}: {err}");
                    return;
                }
            };
            let payload = match &token {
                Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
                None => json!({}),
            };
            let init = json!({ "type": "connection_init", "payload": payload }).to_string();
            if ws.send(Message::Text(init.into())).await.is_err() {
                return;
            }
            while let Some(Ok(frame)) = ws.next().await {
                let Message::Text(text) = frame else { continue };
                let now = chrono::Utc::now();
                let v: Value = match serde_json::from_str(text.as_str()) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                match v["type"].as_str() {
                    Some("connection_ack") => {
                        let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": QUERY } });
                        let _ = ws.send(Message::Text(sub.to_string().into())).await;
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("next") => {
                        let at = v["payload"]["data"]["complaintEvents"]["at"].as_str();
                        if let Some(at) = at.and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok()) {
                            let ms = (now - at.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(ms);
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some("ping") => {
                        let _ = ws.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await;
                    }
                    Some("complete") => break,
                    _ => {}
                }
            }
        }));
        // Connect in steps, as clients arriving over a few seconds.
        if i % 250 == 249 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    while ready.load(Ordering::Relaxed) < n && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected = ready.load(Ordering::Relaxed);
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_connected, ticks_before) = proc_stats(&pid);

    // Steady ingest: RATE complaints a second, spread over the municipalities (some public).
    let client = reqwest::Client::new();
    let ingest = "mutation($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created } }";
    let mut every = tokio::time::interval(Duration::from_millis(1000 / rate.max(1)));
    let ingest_started = Instant::now();
    let mut sent = 0u64;
    let run = std::process::id();
    while ingest_started.elapsed() < Duration::from_secs(seconds) {
        every.tick().await;
        let m = (sent % 6) + 1;
        let source = if sent.is_multiple_of(3) { "VK" } else { "EMAIL" };
        let item = json!({ "source": source, "externalId": format!("sub-bench-{run}-{sent}"),
            "municipalityId": m.to_string(), "text": "Не горит свет в подъезде, просим заменить лампы" });
        let body = json!({ "query": ingest, "variables": { "items": [item] } });
        let resp = client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(&operator)
            .json(&body)
            .send()
            .await;
        if resp.is_ok() {
            sent += 1;
        }
    }
    let ingest_secs = ingest_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss_after, ticks_after) = proc_stats(&pid);
    let ticks_per_sec = 100.0;
    let cpu = (ticks_after - ticks_before) as f64 / ticks_per_sec / (ingest_secs + 3.0);
    for t in tasks {
        t.abort();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut lat = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let out = json!({
        "subscribers": n,
        "connected": connected,
        "connect_secs": connect_secs,
        "ingested": sent,
        "deliveries": received.load(Ordering::Relaxed),
        "measured": lat.len(),
        "p50_ms": percentile(&lat, 0.5),
        "p99_ms": percentile(&lat, 0.99),
        "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        "rss_before_kib": rss_before,
        "rss_connected_kib": rss_connected,
        "rss_after_kib": rss_after,
        "kib_per_subscriber": (rss_connected.saturating_sub(rss_before)) as f64 / n as f64,
        "gateway_cpu_cores": cpu,
    });
    println!("{out}");
}
