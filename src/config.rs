//! One typed configuration, read from flags or the environment; `--help` documents it.
use crate::telemetry::LogFormat;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Gateway configuration shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "CUR_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,
    /// Postgres URL (postgres://…). Unset: the embedded SQLite file of --sqlite-path.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Optional read replica for read-only queries (same kind as DATABASE_URL).
    #[arg(long, env = "DATABASE_READ_URL", global = true)]
    pub database_read_url: Option<String>,
    /// Longest replica lag (milliseconds) at which reads still go to DATABASE_READ_URL; past
    /// it, or while the replica is down, reads go to the primary.
    #[arg(long, env = "CUR_REPLICA_MAX_LAG_MS", default_value_t = 5_000, global = true)]
    pub replica_max_lag_ms: u64,
    /// Milliseconds between checks of the replica's lag.
    #[arg(long, env = "CUR_REPLICA_CHECK_MS", default_value_t = 500, global = true)]
    pub replica_check_ms: u64,
    /// SQLite file of the embedded backend, created, migrated and seeded on first start.
    #[arg(long, env = "CUR_SQLITE_PATH", default_value = "cur.db", global = true)]
    pub sqlite_path: PathBuf,
    /// Complaints seeded into a fresh embedded database.
    #[arg(long, env = "CUR_DEMO_COMPLAINTS", default_value_t = 2_000, global = true)]
    pub demo_complaints: u64,
    /// Developer mode: GraphiQL on GET /graphql. Defaults to on for the embedded backend.
    #[arg(long, env = "CUR_DEV", global = true)]
    pub dev: Option<bool>,
    /// Log format: text or json.
    #[arg(long, env = "CUR_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Database pool size per connection URL (default: twice the CPU cores, at least 4).
    #[arg(long, env = "CUR_DB_POOL_SIZE", default_value_t = default_pool_size(), global = true)]
    pub db_pool_size: u32,
    /// Memory for the KPI rollup parts kept between requests, in MiB (a year of a million
    /// complaints is about 50 MiB), and a quarter as much again for windows' whole days
    /// sorted a month at a time; 0 reads every part from the database every time.
    #[arg(long, env = "CUR_KPI_MEMORY_MB", default_value_t = 256, global = true)]
    pub kpi_memory_mb: u64,
    /// Longest wait for a database connection, in milliseconds (shorter than the request
    /// timeout: during an outage requests fail while their clients still wait).
    #[arg(long, env = "CUR_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000, global = true)]
    pub db_acquire_timeout_ms: u64,
    /// Longest run of one SQL statement in milliseconds (Postgres cancels it); 0: no limit.
    #[arg(long, env = "CUR_DB_STATEMENT_TIMEOUT_MS", default_value_t = 15_000, global = true)]
    pub db_statement_timeout_ms: u64,
    /// Per-request timeout in seconds.
    #[arg(long, env = "CUR_REQUEST_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT: milliseconds `/readyz` is red while requests are still served, so
    /// balancers that poll it stop sending first.
    #[arg(long, env = "CUR_SHUTDOWN_DRAIN_MS", default_value_t = 1_000, global = true)]
    pub shutdown_drain_ms: u64,
    /// On SIGTERM/SIGINT: seconds in-flight requests and WebSockets get to finish after the
    /// listener closes.
    #[arg(long, env = "CUR_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub shutdown_timeout_secs: u64,
    /// Origins of browser apps that may call the API (exact `scheme://host[:port]`, comma
    /// separated; no wildcard). Unset: none, or any localhost port in developer mode.
    #[arg(long, env = "CUR_CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,
    /// A manifest of trusted documents (Apollo's persisted-query-list format, e.g.
    /// `schema/operations/manifest.json`): roles outside CUR_ADHOC_ROLES may then run only
    /// its operations, by id (`documentId` or `extensions.persistedQuery.sha256Hash`).
    #[arg(long, env = "CUR_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: Option<PathBuf>,
    /// Roles that may send any document while a trusted-document manifest is configured
    /// (comma separated).
    #[arg(long, env = "CUR_ADHOC_ROLES", default_value = "operator", global = true)]
    pub adhoc_roles: String,
    /// Seconds a shared cache (a CDN, nginx) may keep the answer to an anonymous GET of a
    /// query; 0: never. Answers to a token, to POST, or with errors are never kept.
    #[arg(long, env = "CUR_PUBLIC_MAX_AGE_SECS", default_value_t = 30, global = true)]
    pub public_max_age_secs: u32,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "CUR_MAX_BODY_BYTES", default_value_t = 1 << 20, global = true)]
    pub max_body_bytes: usize,
    /// Token verification.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Query limits against abuse.
    #[command(flatten)]
    pub limits: QueryLimits,
    /// Subscriptions over WebSocket.
    #[command(flatten)]
    pub live: LiveConfig,
    /// Request budgets per subject.
    #[command(flatten)]
    pub rate_limits: RateLimitConfig,
    /// Seconds between deadline-watch passes (0: off). One replica does each pass.
    #[arg(long, env = "CUR_DEADLINE_WATCH_SECS", default_value_t = 60, global = true)]
    pub deadline_watch_secs: u64,
    /// Serve the schema as an Apollo Federation v2 subgraph (`_service`, `_entities`).
    #[arg(long, env = "CUR_FEDERATION", default_value_t = false, global = true)]
    pub federation: bool,
    /// The pull connectors' file (TOML, see `connectors::config`); unset: no connectors.
    #[arg(long, env = "CUR_CONNECTORS_FILE", global = true)]
    pub connectors_file: Option<std::path::PathBuf>,
    /// Seconds a replica holds a connector's lease without renewing it: after a crash,
    /// another replica takes the connector over within this time.
    #[arg(long, env = "CUR_CONNECTOR_LEASE_SECS", default_value_t = 30, global = true)]
    pub connector_lease_secs: u64,
    /// How far back a pass looks for deadlines that passed (covers downtime), in hours.
    #[arg(long, env = "CUR_DEADLINE_LOOKBACK_HOURS", default_value_t = 168, global = true)]
    pub deadline_lookback_hours: i64,
    /// Redis for the shared cache (`redis://…`); unset: an in-memory cache in this process.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Longest life of a cached value in seconds (a backstop: writes invalidate first).
    #[arg(long, env = "CUR_CACHE_TTL_SECS", default_value_t = 60, global = true)]
    pub cache_ttl_secs: u64,
    /// Time limit of one cache call in milliseconds; past it the database answers.
    #[arg(long, env = "CUR_CACHE_TIMEOUT_MS", default_value_t = 100, global = true)]
    pub cache_timeout_ms: u64,
    /// Answer repeated read operations whole from the cache (queries without author, audit
    /// log, `me` or routing rules), keyed by the caller's scope; false: only KPIs are cached.
    #[arg(long, env = "CUR_CACHE_OPERATIONS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub cache_operations: bool,
    /// Prefix of every cache key (several deployments can share one Redis).
    #[arg(long, env = "CUR_CACHE_PREFIX", default_value = "cur:", global = true)]
    pub cache_prefix: String,
    /// Open311 API keys: `key=name` pairs separated by commas; each key posts as an
    /// `integration` principal with that name.
    #[arg(long, env = "CUR_OPEN311_API_KEYS", global = true, hide_env_values = true)]
    pub open311_api_keys: Option<String>,
}

/// Subscriptions over WebSocket (`/graphql/ws`) and the outbox they read.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveConfig {
    /// Milliseconds a socket may take to send `connection_init` (then 4408).
    #[arg(long, env = "CUR_WS_INIT_TIMEOUT_MS", default_value_t = 3_000, global = true)]
    pub ws_init_timeout_ms: u64,
    /// Seconds between keep-alive pings; a socket silent for two of them is closed.
    #[arg(long, env = "CUR_WS_PING_SECS", default_value_t = 15, global = true)]
    pub ws_ping_secs: u64,
    /// Milliseconds a closing socket's client has to take what was in flight and the close
    /// frame (a client that stopped reading may never take them); then the socket is dropped.
    #[arg(long, env = "CUR_WS_CLOSE_WAIT_MS", default_value_t = 3_000, global = true)]
    pub ws_close_wait_ms: u64,
    /// Open WebSockets per instance (more are answered 503).
    #[arg(long, env = "CUR_WS_MAX_CONNECTIONS", default_value_t = 10_000, global = true)]
    pub ws_max_connections: usize,
    /// Subscriptions per WebSocket.
    #[arg(long, env = "CUR_WS_MAX_SUBSCRIPTIONS", default_value_t = 32, global = true)]
    pub ws_max_subscriptions: usize,
    /// Subscriptions per token subject on one instance.
    #[arg(
        long,
        env = "CUR_WS_MAX_SUBSCRIPTIONS_PER_SUBJECT",
        default_value_t = 256,
        global = true
    )]
    pub ws_max_subscriptions_per_subject: usize,
    /// Complaint events queued per subscription; a subscriber that falls further behind is
    /// closed with 1013 and resumes from its cursor.
    #[arg(long, env = "CUR_WS_QUEUE", default_value_t = 256, global = true)]
    pub ws_queue: usize,
    /// Milliseconds between KPI recomputations for `kpiUpdates` (only after changes).
    #[arg(long, env = "CUR_LIVE_KPI_INTERVAL_MS", default_value_t = 1_000, global = true)]
    pub kpi_interval_ms: u64,
    /// Milliseconds between outbox reads without a signal (a lost signal, a Redis outage).
    #[arg(long, env = "CUR_LIVE_POLL_MS", default_value_t = 1_000, global = true)]
    pub poll_ms: u64,
    /// Hours outbox events are kept for resuming clients.
    #[arg(long, env = "CUR_EVENT_RETENTION_HOURS", default_value_t = 168, global = true)]
    pub event_retention_hours: u64,
}

impl LiveConfig {
    /// The hub's limits and intervals.
    pub(crate) fn settings(&self) -> crate::live::Settings {
        crate::live::Settings {
            queue: self.ws_queue.max(1),
            kpi_interval: Duration::from_millis(self.kpi_interval_ms.max(50)),
            poll: Duration::from_millis(self.poll_ms.max(50)),
            retention: Duration::from_secs(self.event_retention_hours.max(1) * 3600),
            max_connections: self.ws_max_connections,
            max_per_connection: self.ws_max_subscriptions,
            max_per_subject: self.ws_max_subscriptions_per_subject,
        }
    }

    /// How long a socket may wait before `connection_init`.
    pub fn init_timeout(&self) -> Duration {
        Duration::from_millis(self.ws_init_timeout_ms)
    }

    /// How long a closing socket waits for its client to take the close frame.
    pub fn close_wait(&self) -> Duration {
        Duration::from_millis(self.ws_close_wait_ms)
    }

    /// The keep-alive interval.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ws_ping_secs.max(1))
    }
}

/// Request budgets per subject (token `sub`, else client address) and role, in requests a
/// minute (0: unlimited). An operation costs 1, plus 1 per 2,000 of the guard's complexity
/// estimate (at most 20). Shared by all replicas through Redis when `REDIS_URL` is set.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitConfig {
    /// Requests a minute per governor's-office token.
    #[arg(long, env = "CUR_RATE_LIMIT_GOVERNOR", default_value_t = 1_200, global = true)]
    pub rate_limit_governor: u32,
    /// Requests a minute per operator token (consoles poll and page a lot).
    #[arg(long, env = "CUR_RATE_LIMIT_OPERATOR", default_value_t = 3_000, global = true)]
    pub rate_limit_operator: u32,
    /// Requests a minute per ministry token.
    #[arg(long, env = "CUR_RATE_LIMIT_MINISTRY", default_value_t = 1_200, global = true)]
    pub rate_limit_ministry: u32,
    /// Requests a minute per municipality token.
    #[arg(long, env = "CUR_RATE_LIMIT_MUNICIPALITY", default_value_t = 1_200, global = true)]
    pub rate_limit_municipality: u32,
    /// Requests a minute per integration token (source systems ingest in batches).
    #[arg(long, env = "CUR_RATE_LIMIT_INTEGRATION", default_value_t = 6_000, global = true)]
    pub rate_limit_integration: u32,
    /// Requests a minute per anonymous client address.
    #[arg(long, env = "CUR_RATE_LIMIT_PUBLIC", default_value_t = 300, global = true)]
    pub rate_limit_public: u32,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks, comma
    /// separated, e.g. `10.0.0.0/8,127.0.0.1`); the client is the nearest address in the
    /// header that is not one of them. Unset: the peer address is the client.
    #[arg(long, env = "CUR_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
}

impl RateLimitConfig {
    /// The budgets by role.
    pub fn budgets(&self) -> crate::ratelimit::Budgets {
        crate::ratelimit::Budgets {
            governor: self.rate_limit_governor,
            operator: self.rate_limit_operator,
            ministry: self.rate_limit_ministry,
            municipality: self.rate_limit_municipality,
            integration: self.rate_limit_integration,
            public: self.rate_limit_public,
        }
    }

    /// Sets every budget from `budgets`.
    pub fn set_budgets(&mut self, budgets: crate::ratelimit::Budgets) {
        self.rate_limit_governor = budgets.governor;
        self.rate_limit_operator = budgets.operator;
        self.rate_limit_ministry = budgets.ministry;
        self.rate_limit_municipality = budgets.municipality;
        self.rate_limit_integration = budgets.integration;
        self.rate_limit_public = budgets.public;
    }

    /// The trusted proxies, parsed.
    pub fn trusted_proxies(&self) -> crate::Result<Vec<ipnet::IpNet>> {
        let spec = self.trusted_proxies.as_deref().unwrap_or("");
        spec.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        crate::Error::Startup(format!(
                            "CUR_TRUSTED_PROXIES: {p:?} is not an address or CIDR block"
                        ))
                    })
            })
            .collect()
    }
}

/// How bearer tokens are verified. Exactly one key source: a secret (HS256), a public key
/// file, a JWKS file or a JWKS URL (RS256/ES256).
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// HS256 secret. In developer mode without any key a fixed development secret is used.
    #[arg(long, env = "CUR_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key (RSA or EC) for RS256/ES256 tokens.
    #[arg(long, env = "CUR_JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,
    /// JWKS file with one or more keys, chosen by the token's `kid` (re-read on an unknown kid).
    #[arg(long, env = "CUR_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,
    /// An identity provider's JWKS over HTTPS (an OIDC issuer's `jwks_uri`, e.g. Keycloak's
    /// `…/realms/<realm>/protocol/openid-connect/certs`): refreshed as its Cache-Control or
    /// Expires says (5 minutes without), and on an unknown `kid`; the last good set is kept
    /// while the provider is unreachable.
    #[arg(long, env = "CUR_JWKS_URL", global = true)]
    pub jwks_url: Option<String>,
    /// PEM file of a CA the JWKS server's certificate is checked against (besides the
    /// well-known roots), for a provider with a regional or internal CA.
    #[arg(long, env = "CUR_JWKS_CA_FILE", global = true)]
    pub jwks_ca_file: Option<PathBuf>,
    /// The one accepted algorithm (the token header never chooses). Default: HS256 with a
    /// secret, RS256 with a key file.
    #[arg(long, env = "CUR_JWT_ALGORITHM", value_enum, global = true)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// Required `iss` claim, when set.
    #[arg(long, env = "CUR_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, when set.
    #[arg(long, env = "CUR_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[arg(long, env = "CUR_JWT_LEEWAY_SECS", default_value_t = 30, global = true)]
    pub jwt_leeway_secs: u64,
    /// Claim holding an object with `role`, `department_id`, `municipality_id` (as Hasura's
    /// claims_namespace); unset: they are top-level claims.
    #[arg(long, env = "CUR_JWT_CLAIMS_NAMESPACE", global = true)]
    pub jwt_claims_namespace: Option<String>,
    /// Dotted path of the role claim: a string, or an array of which exactly one entry names a
    /// role (e.g. Keycloak's `realm_access.roles`).
    #[arg(long, env = "CUR_JWT_ROLE_CLAIM", default_value = "role", global = true)]
    pub jwt_role_claim: String,
    /// Prefix of our roles in the role claim (e.g. `cur-` for `cur-ministry`).
    #[arg(long, env = "CUR_JWT_ROLE_PREFIX", default_value = "", global = true)]
    pub jwt_role_prefix: String,
    /// Dotted path of the department claim.
    #[arg(long, env = "CUR_JWT_DEPARTMENT_CLAIM", default_value = "department_id", global = true)]
    pub jwt_department_claim: String,
    /// Dotted path of the municipality claim.
    #[arg(
        long,
        env = "CUR_JWT_MUNICIPALITY_CLAIM",
        default_value = "municipality_id",
        global = true
    )]
    pub jwt_municipality_claim: String,
    /// Requests without a token act as role `public`; false answers them 401.
    #[arg(long, env = "CUR_ALLOW_ANONYMOUS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub allow_anonymous: bool,
    /// Who may run introspection queries. Default: all in developer mode, else authenticated.
    #[arg(long, env = "CUR_INTROSPECTION", value_enum, global = true)]
    pub introspection: Option<Introspection>,
}

/// Token signature algorithms the gateway can be configured to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 (shared secret).
    #[value(name = "HS256", alias = "hs256")]
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    #[value(name = "RS256", alias = "rs256")]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ES256", alias = "es256")]
    Es256,
}

/// Who may introspect the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Introspection {
    /// Nobody.
    Off,
    /// Callers with a valid token.
    Authenticated,
    /// Everybody, anonymous callers included.
    All,
}

/// Limits every operation is checked against before it runs.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct QueryLimits {
    /// Largest `first`/`last` a list accepts.
    #[arg(long, env = "CUR_MAX_PAGE_SIZE", default_value_t = 100, global = true)]
    pub max_page_size: u32,
    /// Deepest field nesting (fragments expanded, introspection included).
    #[arg(long, env = "CUR_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    /// Largest estimated result size: each field counts once per row it can produce.
    #[arg(long, env = "CUR_MAX_COMPLEXITY", default_value_t = 100_000, global = true)]
    pub max_complexity: u64,
    /// Most aliased fields in one operation.
    #[arg(long, env = "CUR_MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(long, env = "CUR_MAX_ROOT_FIELDS", default_value_t = 20, global = true)]
    pub max_root_fields: usize,
    /// Most operations in one batched request.
    #[arg(long, env = "CUR_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,
}

/// Small pools beat big ones: past about two connections per core the database spends its
/// time switching between backends (measured in benches/RESULTS.md).
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (cores * 2).max(4)
}

impl Config {
    /// A configuration with every default (the embedded backend), as `serve` with no flags.
    pub fn embedded_default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        Only::parse_from(["cur-gateway"]).config
    }

    /// Whether developer conveniences (GraphiQL) are on.
    pub fn dev_mode(&self) -> bool {
        self.dev.unwrap_or(self.database_url.is_none())
    }

    /// Who may introspect: the configured policy, or the mode's default.
    pub fn introspection(&self) -> Introspection {
        self.auth.introspection.unwrap_or(if self.dev_mode() {
            Introspection::All
        } else {
            Introspection::Authenticated
        })
    }

    /// The cache this configuration asks for: Redis when `REDIS_URL` is set, else in memory.
    pub fn cache(&self) -> crate::Result<crate::cache::Cache> {
        use crate::cache::{Cache, MemoryBackend, RedisBackend};
        use std::sync::Arc;
        let timeout = Duration::from_millis(self.cache_timeout_ms);
        let backend: Arc<dyn crate::cache::Backend> = match &self.redis_url {
            Some(url) => Arc::new(
                RedisBackend::new(url, timeout)
                    .map_err(|e| crate::Error::Startup(format!("REDIS_URL: {e}")))?,
            ),
            None => Arc::new(MemoryBackend::default()),
        };
        Ok(Cache::new(
            backend,
            &self.cache_prefix,
            Duration::from_secs(self.cache_ttl_secs),
            timeout,
        ))
    }

    /// The request budgets: shared through Redis when `REDIS_URL` is set, else per replica.
    pub(crate) fn limiter(&self) -> crate::Result<crate::ratelimit::Limiter> {
        use crate::ratelimit::{Limiter, SharedLimiter};
        let timeout = Duration::from_millis(self.cache_timeout_ms);
        let shared = match &self.redis_url {
            Some(url) => Some(SharedLimiter::new(url, &self.cache_prefix, timeout)?),
            None => None,
        };
        Ok(Limiter::new(self.rate_limits.budgets(), shared))
    }

    /// Trusted documents (when configured) and where registered ones are kept.
    pub(crate) fn persisted(
        &self,
        store: crate::cache::Cache,
    ) -> crate::Result<crate::pipeline::persisted::Documents> {
        use crate::{
            auth::Role,
            pipeline::persisted::{Documents, Manifest},
        };
        let manifest = self.trusted_documents.as_deref().map(Manifest::read).transpose()?;
        let adhoc = self
            .adhoc_roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                Role::ALL.into_iter().find(|role| role.as_str() == r).ok_or_else(|| {
                    crate::Error::Startup(format!("CUR_ADHOC_ROLES: {r:?} is not a role"))
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Documents::new(manifest, adhoc, store))
    }

    /// The event bus: Redis pub/sub when `REDIS_URL` is set, else in this process.
    pub fn bus(&self) -> crate::Result<crate::events::Bus> {
        match &self.redis_url {
            Some(url) => crate::events::Bus::redis(url, &self.cache_prefix),
            None => Ok(crate::events::Bus::in_process()),
        }
    }

    /// Whom committed writes are announced to: the cache and the event bus.
    pub fn notifier(&self) -> crate::Result<crate::service::Notifier> {
        Ok(crate::service::Notifier { cache: self.cache()?, bus: self.bus()? })
    }

    /// The pull connectors of `CUR_CONNECTORS_FILE`, checked (none when unset).
    pub fn connectors(&self) -> crate::Result<crate::connectors::Connectors> {
        match &self.connectors_file {
            None => Ok(crate::connectors::Connectors(Vec::new())),
            Some(path) => crate::connectors::Connectors::read(path)
                .map_err(|e| crate::Error::Startup(format!("CUR_CONNECTORS_FILE: {e}"))),
        }
    }

    /// Open311 API keys (`CUR_OPEN311_API_KEYS`, `key=name,key=name`) and the integration
    /// names they post as.
    pub fn open311_keys(&self) -> crate::Result<std::collections::HashMap<String, String>> {
        let mut keys = std::collections::HashMap::new();
        let spec = self.open311_api_keys.as_deref().unwrap_or("");
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, name) = pair
                .split_once('=')
                .filter(|(k, n)| !k.trim().is_empty() && !n.trim().is_empty())
                .ok_or_else(|| {
                    crate::Error::Startup(format!("CUR_OPEN311_API_KEYS: {pair:?} is not key=name"))
                })?;
            keys.insert(key.trim().to_owned(), name.trim().to_owned());
        }
        Ok(keys)
    }

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The pool's acquire timeout, kept below the request timeout.
    pub fn db_acquire_timeout(&self) -> Duration {
        let limit = self.request_timeout().saturating_sub(Duration::from_millis(500));
        Duration::from_millis(self.db_acquire_timeout_ms.max(100))
            .min(limit.max(Duration::from_millis(100)))
    }

    /// The statement timeout, when there is one.
    pub fn db_statement_timeout(&self) -> Option<Duration> {
        (self.db_statement_timeout_ms > 0)
            .then(|| Duration::from_millis(self.db_statement_timeout_ms))
    }
}
