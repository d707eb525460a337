//! Keys from an identity provider's JWKS URL, served by a local HTTPS server with a CA of the
//! test's own: tokens verify with its keys, mapped from Keycloak-style claims; a new `kid` is
//! fetched at once (rate-limited), the set is refreshed as `Cache-Control` says, and the last
//! good set stays while the provider is down.
use crate::helpers::{Backend, TestApp, error_code};
use cur_gateway::Config;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt").join(name)
}

/// A local HTTPS server of one JWKS document, which the test can change or take down.
pub(crate) struct JwksServer {
    pub(crate) url: String,
    pub(crate) ca: PathBuf,
    body: Arc<Mutex<String>>,
    up: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    dir: PathBuf,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl JwksServer {
    pub(crate) async fn start(jwks: &str, cache_control: &'static str) -> JwksServer {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cur-jwks-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // A CA of the test's own, and the server's certificate for 127.0.0.1 signed by it
        // (a self-signed CA certificate cannot serve as the server's own).
        let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        let (cert, key, csr) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("cert.csr"));
        let ext = dir.join("ext.cnf");
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
            .expect("ext");
        let openssl = |args: Vec<&std::ffi::OsStr>| {
            let out = Command::new("openssl").args(args).output().expect("openssl");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        openssl(vec![
            os("req"),
            os("-x509"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-days"),
            os("1"),
            os("-subj"),
            os("/CN=cur test CA"),
            os("-keyout"),
            ca_key.as_os_str(),
            os("-out"),
            ca.as_os_str(),
        ]);
        openssl(vec![
            os("req"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-subj"),
            os("/CN=127.0.0.1"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            csr.as_os_str(),
        ]);
        openssl(vec![
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            ca.as_os_str(),
            os("-CAkey"),
            ca_key.as_os_str(),
            os("-CAcreateserial"),
            os("-days"),
            os("1"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            cert.as_os_str(),
        ]);
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
            .expect("cert")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(&key).expect("key");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = Arc::new(Mutex::new(jwks.to_owned()));
        let up = Arc::new(AtomicBool::new(true));
        let hits = Arc::new(AtomicUsize::new(0));
        let (b, u, h) = (body.clone(), up.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (acceptor, body, up, hits) =
                    (acceptor.clone(), b.clone(), u.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    hits.fetch_add(1, Ordering::Relaxed);
                    let resp = if up.load(Ordering::Relaxed) {
                        let body = body.lock().expect("lock").clone();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: {cache_control}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                    };
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        JwksServer {
            url: format!("https://{addr}/realms/yugra/protocol/openid-connect/certs"),
            ca,
            body,
            up,
            hits,
            dir,
        }
    }

    fn serve(&self, jwks: &str) {
        *self.body.lock().expect("lock") = jwks.to_owned();
    }
}

/// A Keycloak realm's access token for `roles`, signed with `pem` under `kid`.
pub(crate) fn keycloak_token(pem: &str, kid: &str, roles: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "iat": now, "exp": now + 600,
                         "iss": "https://sso.admhmao.test/realms/yugra", "azp": "cur-console",
                         "realm_access": { "roles": roles }, "cur": { "department_id": "2" } });
    let key = EncodingKey::from_rsa_pem(&std::fs::read(fixture(pem)).expect("key")).expect("rsa");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    encode(&header, &claims, &key).expect("sign")
}

const ME: &str = "{ me { sub role } }";

async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    app.gql_as(Some(token), ME, json!({})).await
}

pub(crate) fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture")
}

/// A gateway taking its keys from `server`, with a Keycloak realm's claims mapped to roles.
async fn keycloak_gateway(server: &JwksServer) -> TestApp {
    let (url, ca) = (server.url.clone(), server.ca.clone());
    TestApp::spawn_configured(Backend::Sqlite, 10, move |c: &mut Config| {
        c.auth.jwt_secret = None;
        c.auth.jwks_url = Some(url);
        c.auth.jwks_ca_file = Some(ca);
        c.auth.jwt_issuer = Some("https://sso.admhmao.test/realms/yugra".into());
        c.auth.jwt_role_claim = "realm_access.roles".into();
        c.auth.jwt_role_prefix = "cur-".into();
        c.auth.jwt_department_claim = "cur.department_id".into();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_a_jwks_url_rotate_refresh_and_outlive_the_provider_going_down() {
    let server = JwksServer::start(&read("jwks_first_only.json"), "public, max-age=1").await;
    let app = keycloak_gateway(&server).await;
    let ministry = || json!(["offline_access", "uma_authorization", "cur-ministry"]);

    let first = keycloak_token("rsa_private.pem", "key-2026-01", ministry());
    let (status, body) = me(&app, &first).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["data"]["me"]["role"], "ministry", "{body:#}");

    // The provider rotates in a new key: a token signed with it works at once.
    server.serve(&read("jwks.json"));
    let second = keycloak_token("rsa2_private.pem", "key-2026-07", ministry());
    let (status, body) = me(&app, &second).await;
    assert_eq!(status, 200, "a new kid is fetched at once: {body:#}");

    // Made-up key ids do not make a fetch each.
    let before = server.hits.load(Ordering::Relaxed);
    for _ in 0..5 {
        let (status, body) =
            me(&app, &keycloak_token("rsa_private.pem", "made-up", ministry())).await;
        assert_eq!((status, error_code(&body)), (401, Some("UNAUTHENTICATED")));
    }
    let fetched = server.hits.load(Ordering::Relaxed) - before;
    assert!(fetched <= 2, "{fetched} fetches for five unknown key ids");

    // The old key is retired: within max-age the gateway no longer accepts it.
    server.serve(&read("jwks.json").replace("key-2026-01", "retired"));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (status, _) = me(&app, &first).await;
    assert_eq!(status, 401, "the refreshed set lacks the retired key");

    // The provider goes down: the last good set stays.
    server.up.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (status, body) = me(&app, &second).await;
    assert_eq!(status, 200, "the last good keys while the provider is down: {body:#}");

    // Two of our roles in one token: refused, not guessed.
    let both =
        keycloak_token("rsa2_private.pem", "key-2026-07", json!(["cur-operator", "cur-governor"]));
    let (status, body) = me(&app, &both).await;
    assert_eq!(status, 401, "{body:#}");
    assert!(body["errors"][0]["message"].as_str().unwrap_or("").contains("more than one role"));
}

#[tokio::test]
async fn a_jwks_url_must_be_https() {
    let mut config = Config::embedded_default();
    config.auth.jwks_url = Some("http://sso.admhmao.test/certs".into());
    let err =
        cur_gateway::auth::jwt::Authenticator::from_config(&config.auth, false).expect_err("http");
    assert!(err.to_string().contains("HTTPS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_for_an_unknown_key_restarts_the_refresh_timer_and_adds_no_other_fetch() {
    let server = JwksServer::start(&read("jwks_first_only.json"), "public, max-age=300").await;
    let app = keycloak_gateway(&server).await;
    let ministry = json!(["cur-ministry"]);
    let (status, body) =
        me(&app, &keycloak_token("rsa_private.pem", "key-2026-01", ministry.clone())).await;
    assert_eq!(status, 200, "{body:#}");
    server.serve(&read("jwks.json"));
    let rotated = keycloak_token("rsa2_private.pem", "key-2026-07", ministry);
    let (status, body) = me(&app, &rotated).await;
    assert_eq!(status, 200, "the new key fetched at once: {body:#}");
    let fetched = server.hits.load(Ordering::Relaxed);
    assert_eq!(fetched, 2, "the start's fetch and the forced one");
    // The set is good for 5 minutes: nothing is fetched again meanwhile.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(server.hits.load(Ordering::Relaxed), fetched, "a fetch after the forced one");
}
