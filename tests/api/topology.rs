//! The production topology of `docker/` on one machine, without Docker: two gateway processes
//! behind Debian's nginx (run with `docker/nginx.conf`, its upstreams pointed at them), one
//! Redis, a Postgres cluster of the test's own, keys from a local JWKS URL. Through nginx the
//! replicas share one rate-limit budget and the registered persisted queries; a Postgres
//! restart under load gives 503 UNAVAILABLE and nothing wrong or lost; a SIGTERM of one
//! replica under load costs no request; `/metrics` shows it all.
use crate::cluster::{PgCluster, spare_port};
use crate::helpers::{error_code, metric_in};
use crate::jwks::{JwksServer, keycloak_token, read};
use crate::load::{Load, Plan, assert_kept};
use crate::process::Process;
use cur_gateway::sha256_hex;
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Debian's nginx with `docker/nginx.conf`, listening on a spare port in front of `replicas`.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nginx {
    fn start(a: SocketAddr, b: SocketAddr) -> Nginx {
        let conf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/nginx.conf"),
        )
        .expect("docker/nginx.conf");
        let port = spare_port();
        let conf = conf
            .replace("gateway-a:8080", &a.to_string())
            .replace("gateway-b:8080", &b.to_string())
            .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"))
            .replace("worker_processes auto;", "worker_processes 1;");
        assert!(conf.contains(&a.to_string()) && conf.contains(&format!(":{port};")), "{conf}");
        let dir = std::env::temp_dir().join(format!("cur-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("logs")).expect("nginx dir");
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let globals =
            format!("daemon off; pid {0}/nginx.pid; error_log {0}/error.log;", dir.display());
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx (apt-get install nginx)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, addr, dir }
    }
}

async fn post(
    client: &reqwest::Client,
    at: SocketAddr,
    token: Option<&str>,
    body: &Value,
) -> Option<(u16, Value)> {
    let mut req = client.post(format!("http://{at}/graphql")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.unwrap_or(Value::Null)))
}

async fn metrics(at: SocketAddr) -> String {
    let resp = reqwest::get(format!("http://{at}/metrics")).await.expect("metrics");
    resp.text().await.expect("text")
}

const ONE: &str = r#"query One { complaint(id: "1") { id externalId status } }"#;

/// Two readers and a writer through the balancer at `lb`.
fn plan<'a>(lb: SocketAddr, token: &'a str, tag: &'static str) -> Plan<'a> {
    Plan { at: lb.to_string(), token, readers: 2, read: ONE, tag, pause: Duration::from_millis(15) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_nginx_share_budgets_and_documents_and_survive_a_restart_and_a_sigterm()
{
    let cluster = PgCluster::start();
    cluster.seeded(80, 50).await;
    let provider = JwksServer::start(&read("jwks.json"), "public, max-age=300").await;
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", cluster.url("cur")),
        ("REDIS_URL", "redis://127.0.0.1:6379".into()),
        ("CUR_CACHE_PREFIX", format!("test-topology:{nanos}:")),
        ("CUR_JWKS_URL", provider.url.clone()),
        ("CUR_JWKS_CA_FILE", provider.ca.display().to_string()),
        ("CUR_JWT_ISSUER", "https://sso.admhmao.test/realms/yugra".into()),
        ("CUR_JWT_ROLE_CLAIM", "realm_access.roles".into()),
        ("CUR_JWT_ROLE_PREFIX", "cur-".into()),
        ("CUR_JWT_DEPARTMENT_CLAIM", "cur.department_id".into()),
        ("CUR_TRUSTED_PROXIES", "127.0.0.1".into()),
        ("CUR_RATE_LIMIT_MINISTRY", "20".into()),
        ("CUR_RATE_LIMIT_OPERATOR", "0".into()),
        ("CUR_RATE_LIMIT_PUBLIC", "0".into()),
        ("CUR_DB_ACQUIRE_TIMEOUT_MS", "1000".into()),
        ("CUR_SHUTDOWN_DRAIN_MS", "500".into()),
        ("CUR_CACHE_OPERATIONS", "false".into()),
        ("CUR_DEADLINE_WATCH_SECS", "0".into()),
        ("CUR_DEV", "false".into()),
    ];
    let mut a = Process::serve(&env);
    let b = Process::serve(&env);
    let nginx = Nginx::start(a.addr, b.addr);
    let lb = nginx.addr;
    let client = reqwest::Client::new();
    let ready = client.get(format!("http://{lb}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);

    // Tokens from the identity provider's keys, mapped from the realm's roles.
    let ministry =
        keycloak_token("rsa_private.pem", "key-2026-01", json!(["offline_access", "cur-ministry"]));
    let operator = keycloak_token("rsa2_private.pem", "key-2026-07", json!(["cur-operator"]));

    // One budget of 20 a minute for the subject, whichever replica nginx picks.
    let cheap = json!({ "query": "{ complaints(first: 1) { totalCount } }" });
    for n in 0..20 {
        let (status, body) = post(&client, lb, Some(&ministry), &cheap).await.expect("answer");
        assert_eq!(status, 200, "request {n}: {body:#}");
    }
    let (status, body) = post(&client, lb, Some(&ministry), &cheap).await.expect("answer");
    assert_eq!((status, error_code(&body)), (429, Some("RATE_LIMITED")), "{body:#}");
    let mut limited = 0.0;
    for replica in [a.addr, b.addr] {
        let text = metrics(replica).await;
        let served = metric_in(&text, "cur_graphql_requests_total", &[]);
        assert!(served >= 3.0, "nginx spread the requests: {replica} served {served}");
        limited += metric_in(&text, "cur_rate_limited_total", &[("role", "ministry")]);
    }
    assert_eq!(limited, 1.0, "the refusal is counted where it happened");

    // A document registered through nginx is known to both replicas.
    let towns = "query Towns { municipalities { id name } }";
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(towns) } });
    let (_, registered) =
        post(&client, lb, Some(&operator), &json!({ "query": towns, "extensions": pq }))
            .await
            .expect("answer");
    assert!(registered["data"]["municipalities"].is_array(), "{registered:#}");
    for replica in [a.addr, b.addr] {
        let (_, body) =
            post(&client, replica, None, &json!({ "extensions": pq })).await.expect("answer");
        assert_eq!(body["data"], registered["data"], "{replica}: {body:#}");
    }

    // A Postgres restart under load: 503 UNAVAILABLE while it is down, nothing else wrong.
    let (_, baseline) =
        post(&client, lb, Some(&operator), &json!({ "query": ONE })).await.expect("answer");
    let running = Load::start(plan(lb, &operator, "restart"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    tokio::task::block_in_place(|| cluster.stop());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let back = Instant::now();
    tokio::task::block_in_place(|| cluster.start_again());
    loop {
        let (status, body) =
            post(&client, lb, Some(&operator), &json!({ "query": ONE })).await.expect("answer");
        if status == 200 && body == baseline {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "no recovery: {body:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (seen, acked) = running.finish().await;
    let mut unavailable = 0;
    for s in &seen {
        if s.status == 200 && s.body.get("errors").is_none() {
            if s.body["data"].get("complaint").is_some() {
                assert_eq!(s.body, baseline, "a wrong answer");
            }
            continue;
        }
        assert_eq!((s.status, error_code(&s.body)), (503, Some("UNAVAILABLE")), "{:#}", s.body);
        unavailable += 1;
    }
    assert!(unavailable > 0, "the restart was seen");
    eprintln!(
        "topology, postgres restart: {} answers through nginx, {unavailable} x 503 UNAVAILABLE, \
         {} writes acknowledged",
        seen.len(),
        acked.len()
    );
    let after = seen.iter().filter(|s| s.started > back).count();
    assert!(after > 0);
    assert_kept(&cluster.url("cur"), &acked).await;

    // A SIGTERM of replica A under load: nginx sends everything to B, no request fails.
    let running = Load::start(plan(lb, &operator, "sigterm"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.terminate();
    let status = tokio::task::block_in_place(|| a.wait(Duration::from_secs(15)));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "replica A exits 0");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (seen, acked) = running.finish().await;
    assert!(seen.len() > 30, "load ran: {}", seen.len());
    eprintln!(
        "topology, SIGTERM of replica A: {} answers through nginx, {} not 200, {} writes acknowledged",
        seen.len(),
        seen.iter().filter(|s| s.status != 200).count(),
        acked.len()
    );
    for s in &seen {
        assert_eq!(s.status, 200, "a request failed while a replica stopped: {:#}", s.body);
        assert!(s.body.get("errors").is_none(), "{:#}", s.body);
    }
    assert_kept(&cluster.url("cur"), &acked).await;

    // B's metrics tell the story.
    let text = metrics(b.addr).await;
    let m = |name: &str, labels: &[(&str, &str)]| metric_in(&text, name, labels);
    assert!(m("cur_graphql_requests_total", &[("outcome", "OK")]) > 0.0);
    assert!(m("cur_graphql_errors_total", &[("code", "UNAVAILABLE")]) > 0.0, "the outage");
    assert_eq!(m("cur_db_up", &[]), 1.0);
    assert!(m("cur_db_statements_total", &[]) > 0.0);
}
