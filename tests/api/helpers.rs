//! Test harness: `TestApp::spawn(backend)` migrates and seeds a private database, starts the
//! gateway on a free port and talks to it over HTTP. Its databases are dropped afterwards.
use cur_gateway::{
    Application, Config,
    auth::{Role, jwt},
    seed::{self, SeedOptions},
    store::Db,
};
use sea_orm::{ConnectionTrait, Database, DbBackend, QueryResult, Statement, TryGetable, Value};
use serde_json::{Value as Json, json};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub const BOTH: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

/// Server root of the test Postgres (trust auth on the dev and CI machines).
pub fn pg_root() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("cur_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

/// A private, migrated, empty database.
pub struct TestDb {
    pub db: Db,
    pub config: Config,
    pg_name: Option<String>,
    sqlite_path: Option<PathBuf>,
}

/// The configuration every test gateway starts from.
fn test_config() -> Config {
    let mut config = Config::embedded_default();
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.db_pool_size = 5;
    config.dev = Some(true);
    // The deadline watch writes history on its own schedule; its test runs it by hand.
    config.deadline_watch_secs = 0;
    // Tests send many requests as one subject; the budgets' own tests set them.
    config.rate_limits.set_budgets(cur_gateway::ratelimit::Budgets::unlimited());
    config
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let name = unique_name();
        let mut config = test_config();
        let (pg_name, sqlite_path) = match backend {
            Backend::Postgres => {
                let admin = Database::connect(format!("{}/postgres", pg_root()))
                    .await
                    .expect("Postgres must run on 127.0.0.1:5432 (see README)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                config.database_url = Some(format!("{}/{name}", pg_root()));
                (Some(name), None)
            }
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                config.database_url = Some(format!("sqlite://{}?mode=rwc", path.display()));
                (None, Some(path))
            }
        };
        let db = Db::connect(&config).await.expect("connect test database");
        db.migrate().await.expect("migrate");
        TestDb { db, config, pg_name, sqlite_path }
    }

    /// A migrated database at `url` (a cluster of the test's own, which removes it).
    pub async fn at(url: &str) -> TestDb {
        let mut config = test_config();
        config.database_url = Some(url.to_owned());
        let db = Db::connect(&config).await.expect("connect test database");
        db.migrate().await.expect("migrate");
        TestDb { db, config, pg_name: None, sqlite_path: None }
    }

    /// A handle on the database at `url` as it is (a read-only standby, say); it drops nothing.
    pub async fn reader(url: &str) -> TestDb {
        let mut config = test_config();
        config.database_url = Some(url.to_owned());
        let db = Db::connect(&config).await.expect("connect");
        TestDb { db, config, pg_name: None, sqlite_path: None }
    }

    /// Another handle on the same database, for a second gateway; it drops nothing.
    pub fn shared(other: &TestDb) -> TestDb {
        TestDb {
            db: other.db.clone(),
            config: other.config.clone(),
            pg_name: None,
            sqlite_path: None,
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.write().get_database_backend()
    }

    /// Rows of a raw SQL query with bound values (written by hand in tests, independent of
    /// the store's query builder).
    pub async fn sql(&self, sql: &str, values: Vec<Value>) -> Vec<QueryResult> {
        let sql = match self.backend() {
            // Tests write Postgres placeholders; SQLite takes `?`.
            DbBackend::Sqlite => (1..=values.len())
                .rev()
                .fold(sql.to_owned(), |s, i| s.replace(&format!("${i}"), &format!("?{i}"))),
            _ => sql.to_owned(),
        };
        self.db
            .write()
            .query_all_raw(Statement::from_sql_and_values(self.backend(), sql, values))
            .await
            .unwrap_or_else(|e| panic!("test SQL failed: {e}"))
    }

    /// A single integer from raw SQL.
    pub async fn sql_i64(&self, sql: &str, values: Vec<Value>) -> i64 {
        let rows = self.sql(sql, values).await;
        let row = &rows[0];
        // Postgres distinguishes INT4 from INT8; accept either.
        row.try_get_by_index::<i64>(0)
            .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
            .expect("an integer")
    }

    /// The first column of a raw SQL query, in order (ids, texts …).
    pub async fn sql_column<T: TryGetable>(&self, sql: &str, values: Vec<Value>) -> Vec<T> {
        self.sql(sql, values)
            .await
            .iter()
            .map(|r| r.try_get_by_index::<T>(0).expect("a value of the asked type"))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        if let Some(name) = self.pg_name.take() {
            // Drop needs a runtime of its own: the test's runtime is shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) =
                            Database::connect(format!("{}/postgres", pg_root())).await
                        {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A running gateway on a seeded private database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub gateway_db: Db,
    /// An operator's token: `gql` and `data` send it.
    pub operator: String,
}

/// Complaints in the standard test region.
pub const TEST_COMPLAINTS: u64 = 400;

impl TestApp {
    /// A gateway over the standard test region (seed 7).
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, TEST_COMPLAINTS, 7).await
    }

    pub async fn spawn_with(backend: Backend, complaints: u64, seed: u64) -> TestApp {
        let db = TestDb::new(backend).await;
        let opts = SeedOptions { complaints, seed, staff: 300, progress: false };
        seed::run(&db.db, &opts).await.expect("seed");
        Self::serve(db).await
    }

    /// A gateway over a small region (seed 7) with its configuration adjusted first.
    pub async fn spawn_configured(
        backend: Backend,
        complaints: u64,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut db = TestDb::new(backend).await;
        let opts = SeedOptions { complaints, seed: 7, staff: 300, progress: false };
        seed::run(&db.db, &opts).await.expect("seed");
        configure(&mut db.config);
        Self::serve(db).await
    }

    /// Starts the gateway over an already prepared database.
    pub async fn serve(db: TestDb) -> TestApp {
        let gateway_db = Db::connect(&db.config).await.expect("connect");
        let app = Application::with_db(&db.config, gateway_db.clone()).await.expect("build app");
        let addr = app.local_addr();
        tokio::spawn(app.run_until_stopped());
        // Gateways configured with public keys only cannot mint; their tests sign their own.
        let operator = try_mint(&db.config, Role::Operator, None, None).unwrap_or_default();
        TestApp { addr, client: reqwest::Client::new(), db, gateway_db, operator }
    }

    /// A second gateway (a replica) on the same database with the same configuration.
    pub async fn another(&self) -> TestApp {
        let db = Db::connect(&self.db.config).await.expect("second pool");
        let app = Application::with_db(&self.db.config, db.clone()).await.expect("second gateway");
        let addr = app.local_addr();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            addr,
            client: reqwest::Client::new(),
            db: TestDb::shared(&self.db),
            gateway_db: db,
            operator: self.operator.clone(),
        }
    }

    /// A token for `role` from this gateway's configuration, as `cur-gateway token` makes it.
    pub fn token(&self, role: Role, department: Option<i32>, municipality: Option<i32>) -> String {
        mint(&self.db.config, role, department, municipality)
    }

    /// POSTs a GraphQL request with `token` (none: anonymous); returns the status and the JSON.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Json) -> (u16, Json) {
        let mut req = self.client.post(self.url("/graphql"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON response"))
    }

    /// Like `gql_as`, asserting a 200 without errors; returns `data`.
    pub async fn data_as(&self, token: Option<&str>, query: &str, variables: Json) -> Json {
        let (status, resp) = self.gql_as(token, query, variables).await;
        assert_eq!(status, 200, "{resp:#}");
        assert!(resp.get("errors").is_none(), "unexpected errors: {resp:#}");
        resp["data"].clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a GraphQL request as an operator and returns the whole JSON response.
    pub async fn gql(&self, query: &str, variables: Json) -> Json {
        self.gql_as(Some(&self.operator), query, variables).await.1
    }

    /// POSTs and asserts there were no errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Json) -> Json {
        let resp = self.gql(query, variables).await;
        assert!(resp.get("errors").is_none(), "unexpected errors: {resp:#}");
        resp["data"].clone()
    }

    /// `/readyz`: its status (0: no answer) and its JSON (null if none).
    pub async fn readiness(&self) -> (u16, Json) {
        let Ok(resp) = self.client.get(self.url("/readyz")).send().await else {
            return (0, Json::Null);
        };
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Json::Null))
    }

    /// SQL statements the gateway has run so far.
    pub fn statements(&self) -> u64 {
        self.gateway_db.statements_executed()
    }
}

/// A token signed with the secret of `config`, as `cur-gateway token` makes it.
pub fn try_mint(
    config: &Config,
    role: Role,
    department: Option<i32>,
    municipality: Option<i32>,
) -> cur_gateway::Result<String> {
    let req = jwt::TokenRequest {
        role,
        department_id: department,
        municipality_id: municipality,
        sub: format!("test-{}", role.as_str()),
        ttl: std::time::Duration::from_secs(600),
    };
    jwt::mint(&config.auth, config.dev_mode(), &req)
}

/// Like `try_mint`, for configurations that can mint.
pub fn mint(
    config: &Config,
    role: Role,
    department: Option<i32>,
    municipality: Option<i32>,
) -> String {
    try_mint(config, role, department, municipality).expect("mint a token")
}

/// The sum of a metric's series on `/metrics` whose labels include every pair of `labels`
/// (0 when there is none).
pub async fn metric(app: &TestApp, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics");
    let text = text.text().await.expect("text");
    metric_in(&text, name, labels)
}

/// [`metric`] over an exposition already read.
pub fn metric_in(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            (metric == name && wanted).then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The `extensions.code` of the first error.
pub fn error_code(resp: &Json) -> Option<&str> {
    resp["errors"][0]["extensions"]["code"].as_str()
}

/// The message of the first error.
pub fn error_message(resp: &Json) -> &str {
    resp["errors"][0]["message"].as_str().unwrap_or("")
}

/// Ids of the nodes of a connection.
pub fn node_ids(connection: &Json) -> Vec<i64> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").parse().expect("numeric id"))
        .collect()
}
