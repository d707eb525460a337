//! Bearer tokens -> [`Principal`]. The accepted algorithm and keys come from configuration,
//! never from the token; `exp`/`nbf` are checked with a leeway, `iss`/`aud` when configured,
//! and the role's required claims by the access policy.
use super::{Principal, Role, claims::ClaimMap, policy, remote_keys::RemoteKeys};
use crate::config::{AuthConfig, JwtAlgorithm};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    errors::ErrorKind, jwk::JwkSet,
};
use serde_json::{Map, Value};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime},
};

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The HS256 secret of developer mode when no key is configured. Never accepted otherwise.
pub const DEV_SECRET: &str = "cur-gateway-dev-secret--not-for-production";

/// A JWKS file is re-read on an unknown `kid` at most this often (key rotation).
const JWKS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// Why a request's credentials were refused; each is an HTTP 401 with code UNAUTHENTICATED.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The Authorization header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedHeader,
    /// The token exceeds [`MAX_TOKEN_BYTES`].
    #[error("the token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    /// Not a JWS compact token, or an unsupported `alg` such as `none`.
    #[error("the token is malformed or uses an unsupported algorithm")]
    Malformed,
    /// The header's algorithm is not the configured one.
    #[error("the token is signed with {found}; this gateway accepts only {expected}")]
    WrongAlgorithm {
        /// Algorithm in the token header.
        found: String,
        /// The configured algorithm.
        expected: String,
    },
    /// No configured key has the token's `kid`.
    #[error("no key with the token's key id {0:?}")]
    UnknownKey(Option<String>),
    /// The signature does not verify.
    #[error("invalid token signature")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not include the configured audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// A required claim is absent.
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or value.
    #[error("the token's `{0}` claim is invalid")]
    InvalidClaim(&'static str),
    /// The role claim names more than one role of the matrix.
    #[error("the token names more than one role; use a token for one role")]
    AmbiguousRole,
    /// The `role` claim names no role of the matrix.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// No key is configured, so no token can be valid.
    #[error("this gateway has no token key configured; send requests without a token")]
    NoKey,
    /// Anonymous requests are turned off.
    #[error("a bearer token is required")]
    TokenRequired,
}

impl From<AuthError> for crate::Error {
    fn from(e: AuthError) -> Self {
        crate::Error::Unauthenticated(e.to_string())
    }
}

/// Keys of a JWKS by `kid`, with the file's modification time when read from a file.
pub(crate) struct KeySet {
    keys: HashMap<Option<String>, DecodingKey>,
    modified: Option<SystemTime>,
    checked: Instant,
}

impl KeySet {
    fn read(path: &Path) -> crate::Result<Self> {
        let fail = |e: String| crate::Error::Startup(format!("JWKS {}: {e}", path.display()));
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let set = KeySet::parse(&text).map_err(fail)?;
        Ok(KeySet { modified, ..set })
    }

    /// The keys of a JWKS document. Keys of other uses (`enc`) or kinds the gateway cannot
    /// verify with are skipped, as identity providers publish those too; none left is an error.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            if matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            ) {
                continue;
            }
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(jwk.common.key_id.clone(), key);
                }
                Err(err) => tracing::debug!(kid = ?jwk.common.key_id, %err, "JWKS key skipped"),
            }
        }
        if keys.is_empty() {
            return Err("holds no signing keys".into());
        }
        Ok(KeySet { keys, modified: None, checked: Instant::now() })
    }

    /// How many keys it holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key a token's `kid` names (a token without one: the only key, if there is one).
    fn key(&self, kid: &Option<String>) -> Result<Option<&DecodingKey>, AuthError> {
        match kid {
            Some(_) => Ok(self.keys.get(kid)),
            None if self.keys.len() == 1 => Ok(self.keys.values().next()),
            None => Err(AuthError::UnknownKey(None)),
        }
    }
}

enum Keys {
    /// No key configured: every token is refused.
    None,
    /// One key (secret or public key file).
    Single(DecodingKey),
    /// A JWKS file, chosen by `kid`.
    Set { path: PathBuf, set: RwLock<KeySet> },
    /// An identity provider's JWKS URL, chosen by `kid`.
    Remote(Arc<RemoteKeys>),
}

/// Verifies bearer tokens and builds principals from their claims.
pub struct Authenticator {
    keys: Keys,
    algorithm: Algorithm,
    validation: Validation,
    claims: ClaimMap,
    allow_anonymous: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

fn algorithm_of(config: &AuthConfig) -> Algorithm {
    match config.jwt_algorithm {
        Some(JwtAlgorithm::Hs256) => Algorithm::HS256,
        Some(JwtAlgorithm::Rs256) => Algorithm::RS256,
        Some(JwtAlgorithm::Es256) => Algorithm::ES256,
        None if config.jwt_public_key_file.is_some()
            || config.jwks_file.is_some()
            || config.jwks_url.is_some() =>
        {
            Algorithm::RS256
        }
        None => Algorithm::HS256,
    }
}

/// The HS256 secret tokens are minted and checked with: the configured one, or the
/// development secret in developer mode.
pub fn hmac_secret(config: &AuthConfig, dev: bool) -> Option<&str> {
    let no_key = config.jwt_public_key_file.is_none()
        && config.jwks_file.is_none()
        && config.jwks_url.is_none();
    config.jwt_secret.as_deref().or((dev && no_key).then_some(DEV_SECRET))
}

impl Authenticator {
    /// Reads the configured key source; `dev` allows the development secret.
    pub fn from_config(config: &AuthConfig, dev: bool) -> crate::Result<Self> {
        let sources = [
            config.jwt_secret.is_some(),
            config.jwt_public_key_file.is_some(),
            config.jwks_file.is_some(),
            config.jwks_url.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(crate::Error::Startup(
                "configure one of CUR_JWT_SECRET, CUR_JWT_PUBLIC_KEY_FILE, CUR_JWKS_FILE, CUR_JWKS_URL"
                    .into(),
            ));
        }
        let algorithm = algorithm_of(config);
        let bad_config = |msg: String| crate::Error::Startup(msg);
        let keys = if let Some(url) = &config.jwks_url {
            let ca = match &config.jwks_ca_file {
                Some(path) => Some(std::fs::read(path).map_err(|e| {
                    bad_config(format!("CUR_JWKS_CA_FILE {}: {e}", path.display()))
                })?),
                None => None,
            };
            Keys::Remote(Arc::new(RemoteKeys::new(url, ca.as_deref())?))
        } else if let Some(path) = &config.jwks_file {
            Keys::Set { path: path.clone(), set: RwLock::new(KeySet::read(path)?) }
        } else if let Some(path) = &config.jwt_public_key_file {
            let pem = std::fs::read(path)
                .map_err(|e| bad_config(format!("public key {}: {e}", path.display())))?;
            let key = match algorithm {
                Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
                Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                _ => {
                    return Err(bad_config(
                        "a public key file needs CUR_JWT_ALGORITHM RS256 or ES256".into(),
                    ));
                }
            }
            .map_err(|e| bad_config(format!("public key {}: {e}", path.display())))?;
            Keys::Single(key)
        } else if let Some(secret) = hmac_secret(config, dev) {
            if algorithm != Algorithm::HS256 {
                return Err(bad_config("a secret needs CUR_JWT_ALGORITHM HS256".into()));
            }
            let key = DecodingKey::from_secret(secret.as_bytes())
                .map_err(|e| bad_config(format!("token secret: {e}")))?;
            Keys::Single(key)
        } else {
            Keys::None
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.jwt_leeway_secs;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &config.jwt_issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &config.jwt_audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(Authenticator {
            keys,
            algorithm,
            validation,
            claims: ClaimMap::of(config),
            allow_anonymous: config.allow_anonymous,
        })
    }

    /// Whether requests without a token act as the public.
    pub fn allows_anonymous(&self) -> bool {
        self.allow_anonymous
    }

    /// Whether any token can be accepted (false: only anonymous requests work).
    pub fn has_key(&self) -> bool {
        !matches!(self.keys, Keys::None)
    }

    /// Keeps a remote key set fresh until the process ends (returns at once for other key
    /// sources). The first fetch is awaited by [`Authenticator::prime`].
    pub async fn refresh_keys(self: Arc<Self>) {
        if let Keys::Remote(remote) = &self.keys {
            remote.refresh().await;
        }
    }

    /// Waits up to `limit` for a remote key set's first fetch; false when it did not come
    /// (the gateway serves anyway: tokens are refused until the keys arrive).
    pub async fn prime(&self, limit: Duration) -> bool {
        let Keys::Remote(remote) = &self.keys else { return true };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if remote.with_set(|s| s.is_some()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The principal of a request from its Authorization header; no header is `public`.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal, AuthError> {
        let Some(header) = authorization else {
            return if self.allow_anonymous {
                Ok(Principal::public())
            } else {
                Err(AuthError::TokenRequired)
            };
        };
        if header.len() > MAX_TOKEN_BYTES + 7 {
            return Err(AuthError::TooLarge);
        }
        let header = std::str::from_utf8(header).map_err(|_| AuthError::MalformedHeader)?;
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(AuthError::MalformedHeader),
        };
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(AuthError::MalformedHeader);
        }
        self.verify(token).await
    }

    /// Verifies one token and builds its principal.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.claims_fetching(token).await?;
        self.claims.principal(&claims)
    }

    /// Verifies one token of a long-lived session (a WebSocket): its principal and the
    /// instant its `exp` claim ends it.
    pub async fn verify_session(
        &self,
        token: &str,
    ) -> Result<(Principal, Option<chrono::DateTime<chrono::Utc>>), AuthError> {
        let claims = self.claims_fetching(token).await?;
        let expires = claims
            .get("exp")
            .and_then(Value::as_i64)
            .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0));
        Ok((self.claims.principal(&claims)?, expires))
    }

    /// The verified claims of one token; a key id the remote set lacks has it fetched again
    /// (rate-limited) before the token is refused.
    async fn claims_fetching(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        match (self.claims(token), &self.keys) {
            (Err(AuthError::UnknownKey(kid)), Keys::Remote(remote)) => {
                if remote.refresh_for_unknown_key().await {
                    self.claims(token)
                } else {
                    Err(AuthError::UnknownKey(kid))
                }
            }
            (result, _) => result,
        }
    }

    /// The verified claims of one token.
    fn claims(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge);
        }
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        if header.alg != self.algorithm {
            return Err(AuthError::WrongAlgorithm {
                found: format!("{:?}", header.alg),
                expected: format!("{:?}", self.algorithm),
            });
        }
        let claims = match &self.keys {
            Keys::None => return Err(AuthError::NoKey),
            Keys::Single(key) => self.decode(token, key)?,
            Keys::Remote(remote) => {
                let kid = header.kid;
                let found = remote.with_set(|set| match set {
                    None => Err(AuthError::UnknownKey(kid.clone())),
                    Some(set) => set.key(&kid).map(|k| k.map(|k| self.decode(token, k))),
                })?;
                found.ok_or(AuthError::UnknownKey(kid))??
            }
            Keys::Set { path, set } => {
                let kid = header.kid;
                if let Some(claims) = self.decode_with_set(token, set, &kid)? {
                    claims
                } else {
                    reload_if_changed(path, set);
                    self.decode_with_set(token, set, &kid)?.ok_or(AuthError::UnknownKey(kid))?
                }
            }
        };
        Ok(claims)
    }

    fn decode_with_set(
        &self,
        token: &str,
        set: &RwLock<KeySet>,
        kid: &Option<String>,
    ) -> Result<Option<Map<String, Value>>, AuthError> {
        let set = set.read().unwrap_or_else(|e| e.into_inner());
        // A token without `kid` is accepted only when the set holds a single key.
        set.key(kid)?.map(|key| self.decode(token, key)).transpose()
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Map<String, Value>, AuthError> {
        decode::<Map<String, Value>>(token, key, &self.validation).map(|data| data.claims).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => {
                    AuthError::MissingClaim("exp")
                }
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm {
                    found: "an algorithm".into(),
                    expected: format!("{:?}", self.algorithm),
                },
                _ => AuthError::Malformed,
            },
        )
    }
}

/// Re-reads a rotated JWKS file, at most once per interval and only when it changed.
fn reload_if_changed(path: &Path, set: &RwLock<KeySet>) {
    {
        let current = set.read().unwrap_or_else(|e| e.into_inner());
        if current.checked.elapsed() < JWKS_RELOAD_INTERVAL {
            return;
        }
    }
    let mut current = set.write().unwrap_or_else(|e| e.into_inner());
    current.checked = Instant::now();
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified == current.modified {
        return;
    }
    match KeySet::read(path) {
        Ok(fresh) => {
            tracing::info!(path = %path.display(), keys = fresh.keys.len(), "JWKS reloaded");
            *current = fresh;
        }
        Err(err) => tracing::warn!(%err, "JWKS reload failed; keeping the previous keys"),
    }
}

/// What `cur-gateway token` puts in a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Role claim.
    pub role: Role,
    /// `department_id` claim.
    pub department_id: Option<i32>,
    /// `municipality_id` claim.
    pub municipality_id: Option<i32>,
    /// `sub` claim.
    pub sub: String,
    /// Lifetime.
    pub ttl: Duration,
}

/// Signs an HS256 token with the configured (or development) secret, with the configured
/// issuer, audience and claims namespace, so the gateway accepts it.
pub fn mint(config: &AuthConfig, dev: bool, req: &TokenRequest) -> crate::Result<String> {
    if req.role == Role::Public {
        return Err(crate::Error::bad_input("`public` means no token; send no Authorization"));
    }
    let principal = Principal {
        sub: req.sub.clone(),
        role: req.role,
        department_id: req.department_id,
        municipality_id: req.municipality_id,
    };
    policy::check_required_claims(&principal).map_err(|claim| {
        crate::Error::bad_input(format!("role {} needs --{}", req.role.as_str(), claim_flag(claim)))
    })?;
    let secret = hmac_secret(config, dev).filter(|_| algorithm_of(config) == Algorithm::HS256);
    let Some(secret) = secret else {
        return Err(crate::Error::bad_input(
            "minting needs an HS256 secret (CUR_JWT_SECRET, or developer mode); \
             RS256/ES256 tokens come from your identity provider",
        ));
    };
    let now = chrono::Utc::now().timestamp();
    let mut claims = Map::new();
    claims.insert("sub".into(), req.sub.clone().into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + req.ttl.as_secs() as i64).into());
    if let Some(iss) = &config.jwt_issuer {
        claims.insert("iss".into(), iss.clone().into());
    }
    if let Some(aud) = &config.jwt_audience {
        claims.insert("aud".into(), aud.clone().into());
    }
    ClaimMap::of(config).write(&mut claims, req.role, req.department_id, req.municipality_id);
    let sign_err = |e: jsonwebtoken::errors::Error| {
        crate::Error::Internal(format!("cannot sign the token: {e}"))
    };
    let key = EncodingKey::from_secret(secret.as_bytes()).map_err(sign_err)?;
    encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(sign_err)
}

fn claim_flag(claim: &str) -> &'static str {
    match claim {
        "department_id" => "department",
        "municipality_id" => "municipality",
        _ => "sub",
    }
}

/// Parses a token lifetime (`90s`, `15m`, `12h`, `7d`, or any of humantime's forms); it must
/// be positive.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration {text:?}: {e} (e.g. 90s, 15m, 12h, 7d)"))?;
    if ttl.is_zero() {
        return Err("the lifetime must be positive".into());
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_secret_is_used_only_without_any_other_key_source() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            auth: AuthConfig,
        }
        let auth = |args: &[&str]| {
            let cli: Cli = clap::Parser::parse_from([&["cur"], args].concat());
            cli.auth
        };
        assert_eq!(hmac_secret(&auth(&[]), true), Some(DEV_SECRET));
        assert_eq!(hmac_secret(&auth(&[]), false), None);
        for source in [["--jwks-url", "https://sso.test/certs"], ["--jwks-file", "keys.json"]] {
            assert_eq!(hmac_secret(&auth(&source), true), None, "{source:?}");
        }
        assert_eq!(hmac_secret(&auth(&["--jwt-secret", "s"]), true), Some("s"));
    }

    #[test]
    fn lifetimes_parse() {
        assert_eq!(parse_ttl("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(parse_ttl("1h 30m").unwrap(), Duration::from_secs(5_400));
        assert!(parse_ttl("5 fortnights").is_err());
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("").is_err());
    }
}
