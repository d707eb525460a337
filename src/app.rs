//! Builds the application — database, schema, router — and runs it until a shutdown signal.
use crate::auth::jwt::{self, Authenticator};
use crate::graphql::{documents::DocumentCache, guard::TypeIndex, variables::InputTypes};
use crate::pipeline::Pipeline;
use crate::state::{AppState, Phase};
use crate::store::directory::Directory;
use crate::{Config, Result, graphql, http, seed, store::Db};
use axum::serve::ListenerExt;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// Distinct operations whose parsed documents are kept.
const DOCUMENT_CACHE_CAPACITY: u64 = 1024;

/// How long the directory snapshot is trusted without an invalidation.
const DIRECTORY_TTL: Duration = Duration::from_secs(30);

/// A built, bound, not yet running gateway.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    watch: Option<(Duration, chrono::Duration)>,
    /// How long readiness is off before the listener closes.
    drain: Duration,
    /// How long in-flight work may take after the listener closes.
    deadline: Duration,
    /// The replica's lag bound and how often it is checked.
    replica_checks: (Duration, Duration),
    /// Keeps an identity provider's keys fresh (ends at once for other key sources).
    key_refresher: tokio::task::JoinHandle<()>,
    /// The pull connectors and how long their leases last.
    connectors: (Arc<crate::connectors::Connectors>, Duration),
}

impl Application {
    /// Connects the database (migrating and seeding the embedded one on first start) and
    /// binds the listener, so `local_addr()` is known before `run_until_stopped`.
    pub async fn build(config: &Config) -> Result<Self> {
        let db = Db::connect(config).await?;
        prepare_embedded(config, &db).await?;
        Self::with_db(config, db).await
    }

    /// Builds on an existing database connection (tests use this after their own set-up).
    pub async fn with_db(config: &Config, db: Db) -> Result<Self> {
        // On the primary: the snapshot is read rarely and must not come from a replica that
        // is lagging (or chosen once, before the replica's first check).
        let directory = Arc::new(Directory::new(db.write().clone(), DIRECTORY_TTL));
        let dev = config.dev_mode();
        let auth = Arc::new(Authenticator::from_config(&config.auth, dev)?);
        // An identity provider's keys: fetched now (waited for a moment), then kept fresh.
        let key_refresher = tokio::spawn(auth.clone().refresh_keys());
        if !auth.prime(Duration::from_secs(5)).await {
            tracing::warn!("the JWKS URL gave no keys yet: tokens are refused until it does");
        }
        if !auth.has_key() {
            tracing::warn!(
                "no token key configured (CUR_JWT_SECRET, CUR_JWT_PUBLIC_KEY_FILE or CUR_JWKS_FILE): only anonymous requests are served"
            );
        } else if jwt::hmac_secret(&config.auth, dev) == Some(jwt::DEV_SECRET) {
            tracing::warn!(
                "developer mode: tokens are signed with the built-in development secret"
            );
        }
        let connectors = Arc::new(config.connectors()?);
        let cache = config.cache()?;
        let notifier = crate::service::Notifier { cache: cache.clone(), bus: config.bus()? };
        let schema = graphql::build_schema(
            db.clone(),
            directory.clone(),
            notifier.clone(),
            connectors.clone(),
            config.federation,
        );
        let sdl = schema.sdl();
        let mut types = TypeIndex::from_sdl(&sdl);
        if !config.federation {
            types = types.switched_off(
                &graphql::federation::FIELDS,
                "this gateway is not a federation subgraph (CUR_FEDERATION)",
            );
        }
        // The guard walks from the root type by name; without it no field rule would apply.
        assert!(types.has_type("Query"), "the query root type must be named Query");
        let metrics = crate::telemetry::metrics::Metrics::new();
        db.observe(&metrics);
        let pipeline = Pipeline {
            schema,
            types: Arc::new(types),
            inputs: Arc::new(InputTypes::from_sdl(&sdl)),
            documents: Arc::new(DocumentCache::new(DOCUMENT_CACHE_CAPACITY)),
            limits: config.limits,
            introspection: config.introspection(),
            request_timeout: config.request_timeout(),
            max_page_size: config.limits.max_page_size,
            cache: cache.clone(),
            cache_operations: config.cache_operations,
            db: db.clone(),
            limiter: config.limiter()?,
            metrics,
            persisted: config.persisted(cache.clone())?,
        };
        let pipeline = Arc::new(pipeline);
        // The hub reads the outbox on a small pool of its own: its polls neither wait for
        // nor hold the connections requests use (nor count among their statements).
        let mut background = config.clone();
        background.db_pool_size = 2;
        background.database_read_url = None;
        let live = crate::live::Hub::new(
            pipeline.clone(),
            Db::connect(&background).await?,
            notifier.bus.clone(),
            config.live.settings(),
        );
        let state = AppState {
            db,
            pipeline,
            live,
            live_config: config.live.clone(),
            dev_tokens: dev.then(|| Arc::new(config.auth.clone())),
            dev,
            auth,
            directory,
            cache,
            notifier,
            open311_keys: Arc::new(config.open311_keys()?),
            connectors: connectors.clone(),
            public_cache_control: http::graphql::public_cache_control(config.public_max_age_secs),
            phase: tokio::sync::watch::channel(Phase::Serving).0,
            cors: crate::http::cors::Origins::parse(config.cors_origins.as_deref(), dev)?,
            trusted_proxies: crate::http::client::TrustedProxies(Arc::new(
                config.rate_limits.trusted_proxies()?,
            )),
        };
        // The GraphQL handler answers its own timeouts with a GraphQL error; the HTTP layer's
        // limit is a backstop for everything else.
        let backstop = config.request_timeout() + Duration::from_secs(5);
        let router = http::router(state.clone(), backstop, config.max_body_bytes);
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            crate::Error::Startup(format!("cannot listen on {}: {e}", config.listen))
        })?;
        let watch = (config.deadline_watch_secs > 0).then(|| {
            (
                Duration::from_secs(config.deadline_watch_secs),
                chrono::Duration::hours(config.deadline_lookback_hours.max(1)),
            )
        });
        let drain = Duration::from_millis(config.shutdown_drain_ms);
        let deadline = Duration::from_secs(config.shutdown_timeout_secs);
        let replica_checks = (
            Duration::from_millis(config.replica_max_lag_ms),
            Duration::from_millis(config.replica_check_ms.max(20)),
        );
        let lease = Duration::from_secs(config.connector_lease_secs.max(1));
        Ok(Application {
            listener,
            router,
            state,
            watch,
            drain,
            deadline,
            replica_checks,
            key_refresher,
            connectors: (connectors, lease),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until SIGINT/SIGTERM, then stops gracefully (see [`Application::run_until`]).
    pub async fn run_until_stopped(self) -> Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then: `/readyz` goes red for the drain time while
    /// requests are still answered; the listener closes; in-flight requests finish and
    /// WebSockets close with 1001, both within the shutdown deadline; the deadline watch ends
    /// after its current pass; then the background tasks stop.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let addr = self.local_addr();
        let backend = self.state.db.backend_name();
        tracing::info!(%addr, backend, dev = self.state.dev, "cur-gateway listening");
        // Answers go out as soon as they are written, not held back by Nagle's algorithm.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "cannot set TCP_NODELAY");
            }
        });
        let phase = self.state.phase.clone();
        let watch = self.watch.map(|(every, lookback)| {
            let (db, notifier) = (self.state.db.clone(), self.state.notifier.clone());
            tokio::spawn(watch_deadlines(db, notifier, every, lookback, phase.subscribe()))
        });
        let (connectors, lease) = &self.connectors;
        let runner = crate::connectors::run::Runner::new(
            self.state.db.clone(),
            self.state.notifier.clone(),
            *lease,
        );
        let pulls = runner.start(connectors, phase.subscribe()).await?;
        if !connectors.0.is_empty() {
            tracing::info!(connectors = connectors.0.len(), "pull connectors started");
        }
        let hub = tokio::spawn(self.state.live.clone().run());
        let health = tokio::spawn(self.state.db.clone().watch_health());
        let (max_lag, every) = self.replica_checks;
        let replica = tokio::spawn(self.state.db.clone().watch_replica(max_lag, every));
        let pipeline = self.state.pipeline.clone();
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            loop {
                every.tick().await;
                pipeline.limiter.forget_idle();
                pipeline.metrics.upkeep();
            }
        });
        let (drain, deadline) = (self.drain, self.deadline);
        let closing = {
            let phase = phase.clone();
            async move {
                stop.await;
                tracing::info!(drain_ms = drain.as_millis() as u64, "stopping: readiness off");
                phase.send_replace(Phase::Draining);
                tokio::time::sleep(drain).await;
                phase.send_replace(Phase::Closing);
                tracing::info!("listener closed; finishing in-flight requests");
            }
        };
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app).with_graceful_shutdown(closing).into_future();
        // The deadline counts from the listener's close.
        let mut closed = phase.subscribe();
        let past_deadline = async move {
            Phase::reached(&mut closed, Phase::Closing).await;
            tokio::time::sleep(deadline).await;
        };
        let finished_at = tokio::time::Instant::now() + deadline;
        let served = tokio::select! {
            served = served => served.map_err(|e| crate::Error::Internal(format!("server error: {e}"))),
            () = past_deadline => {
                tracing::warn!("shutdown deadline passed with requests in flight");
                Ok(())
            }
        };
        // WebSockets were told to close; they are not the HTTP server's to wait for.
        while self.state.live.counts().0 > 0 && tokio::time::Instant::now() < finished_at {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(watch) = watch {
            let until = finished_at.max(tokio::time::Instant::now() + Duration::from_secs(1));
            if tokio::time::timeout_at(until, watch).await.is_err() {
                tracing::warn!("the deadline watch did not finish its pass in time");
            }
        }
        // Each connector task ends its page and gives its lease up, all within one wait.
        let pulls = futures_util::future::join_all(pulls);
        if tokio::time::timeout(Duration::from_secs(5), pulls).await.is_err() {
            tracing::warn!("connectors did not stop in time");
        }
        hub.abort();
        health.abort();
        replica.abort();
        upkeep.abort();
        self.key_refresher.abort();
        served?;
        tracing::info!(%addr, backend, "cur-gateway stopped");
        Ok(())
    }
}

/// Runs the deadline watch every `every`; errors are logged and the next pass retries.
async fn watch_deadlines(
    db: Db,
    notifier: crate::service::Notifier,
    every: Duration,
    lookback: chrono::Duration,
    mut phase: tokio::sync::watch::Receiver<Phase>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A pass under way finishes; none starts once the gateway is stopping.
        tokio::select! {
            _ = interval.tick() => {}
            () = Phase::reached(&mut phase, Phase::Draining) => return,
        }
        if db.health().is_down() {
            // Paused: the pass after the outage looks back over what it missed.
            continue;
        }
        match crate::service::deadlines::watch(&db, &notifier, chrono::Utc::now(), lookback).await {
            Ok(t) if t.reported > 0 => {
                tracing::info!(reported = t.reported, "deadline watch: overdue complaints recorded")
            }
            Ok(t) => tracing::debug!(skipped = t.skipped, "deadline watch: nothing new"),
            Err(err) => tracing::warn!(%err, "deadline watch pass failed"),
        }
    }
}

/// On the embedded backend (no DATABASE_URL): migrates, and seeds the demo region into an
/// empty database, so `serve` and `import` work on a fresh machine.
pub async fn prepare_embedded(config: &Config, db: &Db) -> Result<()> {
    if config.database_url.is_some() {
        return Ok(());
    }
    db.migrate().await?;
    if seed::is_empty(db).await? {
        tracing::info!(complaints = config.demo_complaints, "seeding the demo region");
        seed::run(db, &seed::SeedOptions::demo(config.demo_complaints)).await?;
    }
    seed::ensure_rules(db).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
