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
    /// Largest `first`/`last` a list accepts.
    #[arg(long, env = "CUR_MAX_PAGE_SIZE", default_value_t = 100, global = true)]
    pub max_page_size: u32,
    /// Per-request timeout in seconds.
    #[arg(long, env = "CUR_REQUEST_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub request_timeout_secs: u64,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "CUR_MAX_BODY_BYTES", default_value_t = 1 << 20, global = true)]
    pub max_body_bytes: usize,
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

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}
