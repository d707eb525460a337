//! Database access with sea-orm. Every read of complaint rows, or of rows hanging off
//! complaints, starts from the caller's [`scope::Scoped`], which applies the row scope in SQL
//! as its own AND-ed group.
pub mod actor;
pub(crate) mod audit;
pub(crate) mod bulk;
pub(crate) mod complaints;
pub(crate) mod connectors;
pub mod counts;
pub mod deadlines;
pub(crate) mod deliveries;
pub(crate) mod details;
pub(crate) mod directory;
pub(crate) mod events;
pub mod health;
pub(crate) mod history;
pub(crate) mod ingest;
pub mod kpi_blocks;
pub(crate) mod kpi_interiors;
pub mod kpi_parts;
pub(crate) mod kpis;
pub(crate) mod lifecycle;
pub(crate) mod pagination;
pub mod replica;
pub mod rollup_counts;
pub(crate) mod routing;
pub(crate) mod scope;

use crate::{Config, Result, telemetry::metrics::Metrics};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, TransactionTrait,
};
use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

/// Longest time an ingest context is reused without reading the tables again.
const CONTEXT_MAX_AGE: Duration = Duration::from_secs(60);

/// An ingest context and when (routing generation, instant) it was read.
#[derive(Debug)]
struct CachedContext {
    generation: u64,
    read_at: std::time::Instant,
    context: Arc<ingest::Context>,
}

/// Connections to the primary (writes) and, when configured, a read replica.
#[derive(Debug, Clone)]
pub struct Db {
    write: DatabaseConnection,
    read: DatabaseConnection,
    has_replica: bool,
    statements: Arc<AtomicU64>,
    /// Whether the primary answers, as the last request or ping found.
    health: Arc<health::Health>,
    /// The health watcher's own connection to the primary: pinged through the request pool,
    /// an overloaded gateway (every connection busy, requests queued) would pass for a
    /// database outage and fail every request at once.
    probe: DatabaseConnection,
    /// Whether the replica may answer reads (with a replica only).
    replica: Option<Arc<replica::ReplicaState>>,
    /// Where statement timings go, once a gateway observes this database.
    observer: Arc<OnceLock<Metrics>>,
    /// Largest size of each pool.
    pool_size: u32,
    /// SQLite has one writer at a time; transactions that read before writing queue here
    /// rather than fail with SQLITE_BUSY when another commits first. None on Postgres.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The ingest decision context with the routing generation it was read at.
    ingest_context: Arc<std::sync::Mutex<Option<CachedContext>>>,
    /// KPI rollup parts read before, checked against their generation on every read.
    kpi_parts: kpi_parts::KpiParts,
}

impl Db {
    /// Connects to DATABASE_URL (and DATABASE_READ_URL), or opens the embedded SQLite file.
    pub async fn connect(config: &Config) -> Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let write_url = match &config.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", config.sqlite_path.display()),
        };
        let pool = Pool::of(config);
        let observer: Arc<OnceLock<Metrics>> = Arc::default();
        let write = open(&write_url, &pool, &statements, &observer).await?;
        let read = match &config.database_read_url {
            Some(url) => open(url, &pool, &statements, &observer).await?,
            None => write.clone(),
        };
        let sqlite = write.get_database_backend() == DbBackend::Sqlite;
        let probe = if sqlite { write.clone() } else { open_probe(&write_url).await? };
        if sqlite {
            // WAL lets readers run while a writer commits; it persists in the file.
            write.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").await?;
        }
        Ok(Db {
            has_replica: config.database_read_url.is_some(),
            write,
            read,
            statements,
            health: Arc::default(),
            probe,
            replica: config.database_read_url.is_some().then(Arc::default),
            observer,
            pool_size: pool.size,
            sqlite_writer: sqlite.then(|| sqlite_writer_of(&write_url)),
            ingest_context: Arc::default(),
            kpi_parts: kpi_parts::KpiParts::new(config.kpi_memory_mb.saturating_mul(1 << 20)),
        })
    }

    /// What ingestion decides with, read once per routing `generation` in this process (a
    /// rule change bumps it on every replica); read every time when the generation is unknown,
    /// and at least every minute (a bump lost while Redis was down).
    pub async fn ingest_context(&self, generation: Option<u64>) -> Result<Arc<ingest::Context>> {
        let slot = || self.ingest_context.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = generation
            && let Some(c) = slot().as_ref()
            && c.generation == g
            && c.read_at.elapsed() < CONTEXT_MAX_AGE
        {
            return Ok(c.context.clone());
        }
        let context = Arc::new(ingest::context(&self.write).await?);
        if let Some(generation) = generation {
            let read_at = std::time::Instant::now();
            *slot() = Some(CachedContext { generation, read_at, context: context.clone() });
        }
        Ok(context)
    }

    /// KPI rollup parts kept in memory.
    pub fn kpi_parts(&self) -> &kpi_parts::KpiParts {
        &self.kpi_parts
    }

    /// The connection for writes (and reads that must see them).
    pub fn write(&self) -> &DatabaseConnection {
        &self.write
    }

    /// Begins a write transaction (queued behind other writers on SQLite; the guard must live
    /// until the commit).
    pub async fn begin_write(&self) -> Result<(DatabaseTransaction, Option<OwnedMutexGuard<()>>)> {
        let guard = self.writer_turn().await;
        Ok((self.write.begin().await?, guard))
    }

    /// Waits for this process's turn to write, on SQLite (one writer per file, or a write
    /// between another transaction's read and write is SQLITE_BUSY); at once on Postgres. For
    /// a write of one statement, which needs no transaction of its own.
    pub(crate) async fn writer_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// The connection for read-only queries: the replica when configured and neither down
    /// nor lagging past the bound, else the primary.
    pub fn read(&self) -> &DatabaseConnection {
        match &self.replica {
            Some(r) if r.usable() => &self.read,
            _ => &self.write,
        }
    }

    /// This database with every read on the primary (a request that writes reads its writes).
    pub fn primary_only(&self) -> Db {
        Db { read: self.write.clone(), has_replica: false, replica: None, ..self.clone() }
    }

    /// The replica's state, when there is one.
    pub fn replica(&self) -> Option<&Arc<replica::ReplicaState>> {
        self.replica.as_ref()
    }

    /// Checks the replica until the process ends (returns at once without one).
    pub(crate) async fn watch_replica(self, max_lag: Duration, every: Duration) {
        if let Some(state) = self.replica.clone() {
            replica::watch(self.write.clone(), self.read.clone(), state, max_lag, every).await;
        }
    }

    /// `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.write.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// Whether the primary answers, as the gateway last saw it.
    pub fn health(&self) -> &Arc<health::Health> {
        &self.health
    }

    /// Pings the primary until the process ends, keeping [`Db::health`] current.
    pub(crate) async fn watch_health(self) {
        self.health.clone().watch(self.probe.clone()).await
    }

    /// Sends statement timings to `metrics` from now on (the first observer stays).
    pub fn observe(&self, metrics: &Metrics) {
        let _ = self.observer.set(metrics.clone());
    }

    /// Per pool (`primary`, and `replica` when there is one): connections in use, idle, and
    /// the pool's largest size.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, u32, u32)> {
        let stats = |conn: &DatabaseConnection| -> (u32, u32) {
            let (size, idle) = match conn.get_database_backend() {
                DbBackend::Postgres => {
                    let p = conn.get_postgres_connection_pool();
                    (p.size(), p.num_idle())
                }
                _ => {
                    let p = conn.get_sqlite_connection_pool();
                    (p.size(), p.num_idle())
                }
            };
            let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
            (size - idle, idle)
        };
        let mut pools = Vec::with_capacity(2);
        let (in_use, idle) = stats(&self.write);
        pools.push(("primary", in_use, idle, self.pool_size));
        if self.has_replica {
            let (in_use, idle) = stats(&self.read);
            pools.push(("replica", in_use, idle, self.pool_size));
        }
        pools
    }

    /// How many SQL statements this process has run (tests count them per request).
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Applies pending migrations, then fills the KPI rollup if it is new (empty while
    /// complaints exist).
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.write, None).await?;
        let entered = kpi_blocks::ensure(&self.write).await?;
        if entered > 0 {
            tracing::info!(complaints = entered, "KPI rollup filled from the complaints");
        }
        Ok(())
    }

    /// Rolls back the last `n` migrations.
    pub async fn migrate_down(&self, n: u32) -> Result<()> {
        Migrator::down(&self.write, Some(n)).await?;
        Ok(())
    }

    /// Whether the primary answers, asked on the health connection (a pool whose every
    /// connection is busy is an overload, not an outage).
    pub async fn ping(&self) -> Result<()> {
        self.probe.ping().await?;
        Ok(())
    }
}

/// The writer queue of the SQLite file at `url`, one per file in this process: every `Db` on
/// the file (the gateway's, the live hub's, a test's own) queues on the same lock, else a
/// transaction that read before writing could fail with SQLITE_BUSY when another `Db`'s
/// write committed in between.
fn sqlite_writer_of(url: &str) -> Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, Weak};
    static WRITERS: std::sync::LazyLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> =
        std::sync::LazyLock::new(Mutex::default);
    let mut writers = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    writers.retain(|_, w| w.strong_count() > 0);
    if let Some(lock) = writers.get(url).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    writers.insert(url.to_owned(), Arc::downgrade(&lock));
    lock
}

/// One connection attempt, so that an unreachable server is reported with its address and
/// the cause (refused, unknown host, bad password) rather than as a pool timeout.
async fn reachable(url: &str, timeout: Duration) -> Result<()> {
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _, postgres::PgConnectOptions};
    let fail = |e: String| crate::Error::Startup(format!("{} ({})", e, shown_url(url)));
    let options: PgConnectOptions =
        url.parse().map_err(|e| fail(format!("DATABASE_URL is not a Postgres URL: {e}")))?;
    let target = format!("{}:{}", options.get_host(), options.get_port());
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(fail(format!("cannot reach the database at {target}: {e}"))),
        Err(_) => Err(fail(format!(
            "cannot reach the database at {target}: no answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// `url` without its password, for messages.
fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// How each connection pool is sized and timed.
#[derive(Debug, Clone, Copy)]
struct Pool {
    size: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
}

impl Pool {
    fn of(config: &Config) -> Self {
        Pool {
            size: config.db_pool_size,
            acquire_timeout: config.db_acquire_timeout(),
            statement_timeout: config.db_statement_timeout(),
        }
    }
}

/// One connection of its own for the health watcher, opened when first pinged and again
/// after a failure (so a database down at start does not stop the gateway here).
async fn open_probe(url: &str) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_lazy(true)
        .connect_timeout(Duration::from_secs(1))
        .acquire_timeout(Duration::from_secs(1))
        .sqlx_logging(false);
    Database::connect(options).await.map_err(|e| {
        crate::Error::Startup(format!("cannot open the database {}: {e}", shown_url(url)))
    })
}

/// How long startup waits for a pool's first connection. A request's wait (which covers
/// opening a connection) may be far shorter, and a loaded server can take longer than that.
const STARTUP_PATIENCE: Duration = Duration::from_secs(10);

/// Waits until the pool holds a connection, trying again while attempts run out of time;
/// any other failure (a refused password, a missing database) ends the wait at once.
async fn first_connection(conn: &DatabaseConnection, patience: Duration) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    loop {
        match conn.ping().await {
            Err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))
                if started.elapsed() < patience => {}
            done => return done,
        }
    }
}

async fn open(
    url: &str,
    pool: &Pool,
    statements: &Arc<AtomicU64>,
    observer: &Arc<OnceLock<Metrics>>,
) -> Result<DatabaseConnection> {
    if url.starts_with("postgres") {
        reachable(url, pool.acquire_timeout.max(Duration::from_secs(5))).await?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool.size)
        .min_connections(1)
        // The first connection is opened below, with startup's own patience.
        .connect_lazy(true)
        .connect_timeout(pool.acquire_timeout)
        // Shorter than a request's time limit: during an outage a request fails while its
        // client still waits, rather than after.
        .acquire_timeout(pool.acquire_timeout)
        // A ping on every checkout costs a round trip per statement; only connections that sat
        // idle long enough to have been dropped by a proxy or firewall are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if let Some(limit) = pool.statement_timeout {
        // One slow statement cannot hold a connection past this (the server cancels it).
        let ms = limit.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", ms.as_str())]));
    }
    let cannot_open = |e: DbErr| {
        crate::Error::Startup(format!("cannot open the database {}: {e}", shown_url(url)))
    };
    let mut conn = Database::connect(options).await.map_err(cannot_open)?;
    first_connection(&conn, pool.acquire_timeout.max(STARTUP_PATIENCE))
        .await
        .map_err(cannot_open)?;
    let counter = statements.clone();
    let observer = observer.clone();
    conn.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = observer.get() {
            metrics.statement(info.elapsed, info.failed);
        }
    });
    Ok(conn)
}
