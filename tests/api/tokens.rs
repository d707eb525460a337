//! Token verification: every forged, expired or malformed token is a 401 with code
//! UNAUTHENTICATED and no data; valid tokens of every key kind are accepted.
use crate::helpers::{Backend, TestApp};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::path::PathBuf;

const SECRET: &str = "test-secret-0123456789-abcdefghij";
const ISSUER: &str = "https://id.admhmao.test";
const AUDIENCE: &str = "cur-gateway";
const QUERY: &str = "{ me { sub role } complaints(first: 1) { totalCount } }";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt").join(name)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for an operator; tests change one thing at a time.
fn claims() -> Value {
    json!({ "sub": "op-1", "role": "operator", "iss": ISSUER, "aud": AUDIENCE,
            "iat": now(), "exp": now() + 600 })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret).expect("hmac key");
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign")
}

fn signed(alg: Algorithm, kid: Option<&str>, pem: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(pem)).expect("fixture key");
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .expect("private key");
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key).expect("sign")
}

/// Sends `authorization` as is and asserts a 401 without data.
async fn assert_refused(app: &TestApp, authorization: &str, case: &str) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", authorization)
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401, "{case}");
    assert!(resp.headers().contains_key("www-authenticate"), "{case}: a Bearer challenge");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{case}: {body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{case}: no data: {body}");
}

async fn role_of(app: &TestApp, token: &str) -> (u16, Value) {
    let (status, body) = app.gql_as(Some(token), QUERY, json!({})).await;
    (status, body["data"]["me"]["role"].clone())
}

#[tokio::test]
async fn hs256_tokens_are_checked_claim_by_claim() {
    let app = TestApp::spawn_configured(Backend::Postgres, 30, |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.auth.jwt_issuer = Some(ISSUER.into());
        c.auth.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    let good = hs256(&claims(), SECRET.as_bytes());
    assert_eq!(role_of(&app, &good).await, (200, json!("operator")));
    // Within the 30 s leeway an expired token still passes.
    let mut late = claims();
    late["exp"] = json!(now() - 10);
    assert_eq!(role_of(&app, &hs256(&late, SECRET.as_bytes())).await.0, 200);

    let with = |key: &str, value: Value| {
        let mut c = claims();
        c[key] = value;
        hs256(&c, SECRET.as_bytes())
    };
    let without = |key: &str| {
        let mut c = claims();
        c.as_object_mut().expect("object").remove(key);
        hs256(&c, SECRET.as_bytes())
    };
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let mut huge = claims();
    huge["padding"] = json!("x".repeat(9 * 1024));
    let cases = [
        (none_alg, "alg none"),
        (hs256(&claims(), b"another-secret-of-the-same-length!"), "wrong signature"),
        (with("exp", json!(now() - 3600)), "expired"),
        (with("nbf", json!(now() + 3600)), "nbf in the future"),
        (with("iss", json!("https://evil.test")), "wrong issuer"),
        (with("aud", json!("someone-else")), "wrong audience"),
        (with("role", json!("admin")), "unknown role"),
        (with("role", json!("public")), "public is not a token role"),
        (with("role", json!("ministry")), "ministry without department_id"),
        (with("role", json!("municipality")), "municipality without municipality_id"),
        (with("department_id", json!("seven")), "non-numeric department_id"),
        (without("exp"), "no exp"),
        (without("sub"), "no sub"),
        (without("role"), "no role"),
        (hs256(&huge, SECRET.as_bytes()), "token over 8 KiB"),
        ("not-a-jwt".into(), "not a JWT"),
        ("a.b.c".into(), "garbage segments"),
    ];
    for (token, case) in &cases {
        assert_refused(&app, &format!("Bearer {token}"), case).await;
    }
    for header in ["Bearer", "Bearer ", "Basic b3BlcmF0b3I6c2VjcmV0", "Token abc", &good] {
        assert_refused(&app, header, &format!("malformed header {header:.20}")).await;
    }
    // A ministry token with its claim passes; ids may come as strings.
    let mut ministry = claims();
    ministry["role"] = json!("ministry");
    ministry["department_id"] = json!("3");
    assert_eq!(role_of(&app, &hs256(&ministry, SECRET.as_bytes())).await, (200, json!("ministry")));
}

#[tokio::test]
async fn claims_under_a_namespace_and_anonymous_turned_off() {
    const NS: &str = "https://cur.admhmao.ru/claims";
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.auth.jwt_claims_namespace = Some(NS.into());
        c.auth.allow_anonymous = false;
    })
    .await;
    let mut namespaced = json!({ "sub": "m-1", "exp": now() + 600 });
    namespaced[NS] = json!({ "role": "municipality", "municipality_id": 4 });
    let token = hs256(&namespaced, SECRET.as_bytes());
    assert_eq!(role_of(&app, &token).await, (200, json!("municipality")));
    // Top-level role claims do not count when a namespace is configured.
    let flat =
        hs256(&json!({ "sub": "x", "exp": now() + 600, "role": "operator" }), SECRET.as_bytes());
    assert_refused(&app, &format!("Bearer {flat}"), "claims outside the namespace").await;
    // No token at all is refused too.
    let (status, body) = app.gql_as(None, QUERY, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // `cur-gateway token` honours the namespace.
    let minted = app.token(cur_gateway::auth::Role::Operator, None, None);
    assert_eq!(role_of(&app, &minted).await, (200, json!("operator")));
}

#[tokio::test]
async fn rs256_public_key_refuses_hmac_confusion() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, |c| {
        c.auth.jwt_public_key_file = Some(fixture("rsa_public.pem"));
    })
    .await;
    let claims = json!({ "sub": "gov", "role": "governor", "exp": now() + 600 });
    let token = signed(Algorithm::RS256, None, "rsa_private.pem", &claims);
    assert_eq!(role_of(&app, &token).await, (200, json!("governor")));
    // The classic confusion: HS256 with the RSA public key as the HMAC secret.
    let public_pem = std::fs::read(fixture("rsa_public.pem")).expect("pem");
    assert_refused(
        &app,
        &format!("Bearer {}", hs256(&claims, &public_pem)),
        "HS256 with the public key",
    )
    .await;
    let other = signed(Algorithm::RS256, None, "rsa2_private.pem", &claims);
    assert_refused(&app, &format!("Bearer {other}"), "signed by another RSA key").await;
    let es = signed(Algorithm::ES256, None, "ec_private.pem", &claims);
    assert_refused(&app, &format!("Bearer {es}"), "ES256 where RS256 is configured").await;
}

#[tokio::test]
async fn es256_public_key() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, |c| {
        c.auth.jwt_public_key_file = Some(fixture("ec_public.pem"));
        c.auth.jwt_algorithm = Some(cur_gateway::config::JwtAlgorithm::Es256);
    })
    .await;
    let claims = json!({ "sub": "c", "role": "operator", "exp": now() + 600 });
    let token = signed(Algorithm::ES256, None, "ec_private.pem", &claims);
    assert_eq!(role_of(&app, &token).await, (200, json!("operator")));
    let rs = signed(Algorithm::RS256, None, "rsa_private.pem", &claims);
    assert_refused(&app, &format!("Bearer {rs}"), "RS256 where ES256 is configured").await;
}

#[tokio::test]
async fn jwks_keys_are_chosen_by_kid_and_rotate() {
    let jwks = std::env::temp_dir().join(format!("cur_jwks_{}.json", std::process::id()));
    std::fs::copy(fixture("jwks_first_only.json"), &jwks).expect("copy jwks");
    let path = jwks.clone();
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, move |c| {
        c.auth.jwks_file = Some(path);
    })
    .await;
    let claims = json!({ "sub": "o", "role": "operator", "exp": now() + 600 });
    let first = signed(Algorithm::RS256, Some("key-2026-01"), "rsa_private.pem", &claims);
    let second = signed(Algorithm::RS256, Some("key-2026-07"), "rsa2_private.pem", &claims);
    let mixed = signed(Algorithm::RS256, Some("key-2026-01"), "rsa2_private.pem", &claims);
    assert_eq!(role_of(&app, &first).await.0, 200);
    assert_refused(&app, &format!("Bearer {second}"), "kid not in the set yet").await;
    assert_refused(&app, &format!("Bearer {mixed}"), "kid of one key, signature of another").await;

    // Rotation: the identity provider publishes the new key; the gateway re-reads the file
    // on an unknown kid (at most every 10 s), without a restart.
    std::fs::copy(fixture("jwks.json"), &jwks).expect("rotate jwks");
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    assert_eq!(role_of(&app, &second).await.0, 200, "the new key is picked up");
    assert_eq!(role_of(&app, &first).await.0, 200, "the old key still works");
    let _ = std::fs::remove_file(&jwks);
}

#[tokio::test]
async fn the_token_command_mints_tokens_the_gateway_accepts() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 30, |c| {
        c.auth.jwt_secret = Some(SECRET.into());
    })
    .await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cur-gateway"))
            .arg("token")
            .args(args)
            .env("CUR_JWT_SECRET", SECRET)
            .env("DATABASE_URL", "postgres://unused")
            .env_remove("CUR_JWT_ISSUER")
            .env_remove("CUR_JWT_AUDIENCE")
            .output()
            .expect("run cur-gateway token")
    };
    let out =
        run(&["--role", "ministry", "--department", "3", "--sub", "minzdrav-1", "--ttl", "5m"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    let (status, body) =
        app.gql_as(Some(&token), "{ me { sub role departmentId } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["me"],
        json!({ "sub": "minzdrav-1", "role": "ministry", "departmentId": "3" })
    );

    let out = run(&["--role", "ministry"]);
    assert!(!out.status.success(), "a ministry token needs --department");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--department"));
    let out = run(&["--role", "superuser"]);
    assert!(!out.status.success(), "unknown roles are refused");
}
