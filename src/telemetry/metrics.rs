//! The gateway's metrics, in Prometheus's text format on `/metrics`. Each gateway instance has
//! a recorder of its own (metrics-exporter-prometheus, not installed globally), so two
//! gateways in one process — the tests, a benchmark — never count into each other. Events are
//! recorded where they happen; state owned elsewhere (pools, sockets, cache counters) is read
//! when scraped.
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

/// Latency buckets in seconds: sub-millisecond cache hits to requests at their time limit.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Distinct operation names kept as labels; later ones count as `other` (clients choose the
/// names, and every name is a series).
const MAX_OPERATIONS: usize = 256;

const METADATA: Metadata<'static> = Metadata::new("cur_gateway", Level::INFO, None);

/// What each metric means; written as HELP lines.
const DESCRIPTIONS: &[(&str, Unit, &str)] = &[
    (
        "cur_graphql_requests_total",
        Unit::Count,
        "GraphQL operations by name and outcome code (OK, or the first error's code).",
    ),
    (
        "cur_graphql_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a GraphQL operation, by name.",
    ),
    ("cur_graphql_requests_in_flight", Unit::Count, "GraphQL operations being answered now."),
    ("cur_graphql_errors_total", Unit::Count, "GraphQL errors by extensions.code."),
    ("cur_db_statements_total", Unit::Count, "SQL statements run."),
    ("cur_db_statement_errors_total", Unit::Count, "SQL statements that failed."),
    ("cur_db_statement_duration_seconds", Unit::Seconds, "Time of one SQL statement."),
    (
        "cur_db_pool_connections",
        Unit::Count,
        "Database connections by pool and state (in_use, idle).",
    ),
    ("cur_db_pool_max_connections", Unit::Count, "Largest size of each database pool."),
    ("cur_db_up", Unit::Count, "1 while the primary database answers, 0 during an outage."),
    (
        "cur_db_replica_in_use",
        Unit::Count,
        "1 while reads go to the replica, 0 while it is down or lagging past the bound.",
    ),
    ("cur_db_replica_lag_seconds", Unit::Seconds, "How far the replica is behind the primary."),
    ("cur_cache_hits_total", Unit::Count, "Reads answered from the cache, by topic."),
    ("cur_cache_misses_total", Unit::Count, "Reads computed and stored, by topic."),
    ("cur_cache_errors_total", Unit::Count, "Cache failures answered from the database, by topic."),
    ("cur_ws_connections", Unit::Count, "Open WebSockets."),
    ("cur_subscriptions", Unit::Count, "Live subscriptions."),
    ("cur_subscription_events_delivered_total", Unit::Count, "Events queued to subscribers."),
    (
        "cur_subscription_subscribers_dropped_total",
        Unit::Count,
        "Subscribers dropped because their queue was full (closed with 1013).",
    ),
    (
        "cur_rate_limited_total",
        Unit::Count,
        "Operations refused because their subject's budget was spent, by role.",
    ),
    (
        "cur_rate_limit_fallbacks_total",
        Unit::Count,
        "Budget checks counted in this replica because Redis did not answer.",
    ),
    ("cur_audit_records_total", Unit::Count, "Audit records of personal-data reads written."),
    (
        "cur_connector_state",
        Unit::Count,
        "1 for each pull connector's state (running, failing, paused), 0 for the others.",
    ),
    (
        "cur_connector_items",
        Unit::Count,
        "Items a connector brought, by outcome (created, duplicate, rejected) and window (1h, 24h); the same on every replica.",
    ),
    ("cur_connector_failures", Unit::Count, "A connector's failed runs in a row."),
    (
        "cur_connector_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of a connector's last successful run.",
    ),
    ("cur_connector_active", Unit::Count, "1 while a replica holds the connector's lease."),
];

/// The state read at scrape time.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Per pool (`primary`, `replica`): connections in use, idle, and the pool's largest size.
    pub pools: Vec<(&'static str, u32, u32, u32)>,
    /// Whether the primary answers.
    pub db_up: bool,
    /// Per cache topic: hits, misses, errors.
    pub cache: Vec<(&'static str, u64, u64, u64)>,
    /// Open WebSockets.
    pub ws_connections: usize,
    /// Live subscriptions.
    pub subscriptions: usize,
    /// With a replica: whether reads go to it, and its lag in seconds.
    pub replica: Option<(bool, f64)>,
    /// The pull connectors' shared state.
    pub connectors: Vec<crate::service::connectors::Status>,
}

/// An operation's count and latency handles for one outcome.
type Series = (Counter, Histogram);

/// One gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    operations: Arc<Mutex<HashSet<String>>>,
    /// The handles of each operation's series, registered once: a registration builds its
    /// labels and key, which costs more than the count.
    series: Arc<Mutex<HashMap<(String, String), Series>>>,
    in_flight: Gauge,
    /// SQL statements, failed ones, their latency: counted for every statement, so registered
    /// once.
    statements: (Counter, Counter, Histogram),
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<Label> {
    pairs.iter().map(|(k, v)| Label::new(*k, v.to_string())).collect()
}

impl Metrics {
    /// A fresh recorder with every metric described.
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // The buckets are a fixed, valid list; set_buckets fails only on an empty one.
        let builder = builder.set_buckets(&BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        for (name, unit, help) in DESCRIPTIONS {
            recorder.describe_counter((*name).into(), Some(*unit), (*help).into());
        }
        let handle = recorder.handle();
        let key = Key::from_name("cur_graphql_requests_in_flight");
        let in_flight = recorder.register_gauge(&key, &METADATA);
        let fixed = |name: &'static str| Key::from_name(name);
        let statements = (
            recorder.register_counter(&fixed("cur_db_statements_total"), &METADATA),
            recorder.register_counter(&fixed("cur_db_statement_errors_total"), &METADATA),
            recorder.register_histogram(&fixed("cur_db_statement_duration_seconds"), &METADATA),
        );
        Metrics {
            recorder: Arc::new(recorder),
            handle,
            operations: Arc::default(),
            series: Arc::default(),
            in_flight,
            statements,
        }
    }

    fn counter(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> Counter {
        self.recorder.register_counter(&Key::from_parts(name, labels(pairs)), &METADATA)
    }

    fn gauge(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> Gauge {
        self.recorder.register_gauge(&Key::from_parts(name, labels(pairs)), &METADATA)
    }

    fn histogram(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> Histogram {
        self.recorder.register_histogram(&Key::from_parts(name, labels(pairs)), &METADATA)
    }

    /// The label of an operation name: itself while few names are known, `anonymous` or
    /// `other` otherwise.
    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| {
            n.len() <= 64
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        }) else {
            return "anonymous".into();
        };
        let mut known = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(name) || known.len() < MAX_OPERATIONS && known.insert(name.to_owned()) {
            name.to_owned()
        } else {
            "other".into()
        }
    }

    /// An operation is being answered; the guard counts it until dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.increment(1.0);
        InFlight(self.in_flight.clone())
    }

    /// One answered operation: its name, outcome code and time, and its errors' codes.
    pub fn request<'a>(
        &self,
        operation: Option<&str>,
        took: Duration,
        codes: impl Iterator<Item = &'a str>,
    ) {
        let operation = self.operation_label(operation);
        let mut outcome = None;
        for code in codes {
            outcome.get_or_insert(code);
            self.counter("cur_graphql_errors_total", &[("code", code)]).increment(1);
        }
        let outcome = outcome.unwrap_or("OK");
        let (count, time) = {
            let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
            let key = (operation, outcome.to_owned());
            match series.get(&key) {
                Some(handles) => handles.clone(),
                None => {
                    let pairs = [("operation", key.0.as_str()), ("outcome", outcome)];
                    let count = self.counter("cur_graphql_requests_total", &pairs);
                    let op = [("operation", key.0.as_str())];
                    let time = self.histogram("cur_graphql_request_duration_seconds", &op);
                    series.insert(key, (count.clone(), time.clone()));
                    (count, time)
                }
            }
        };
        count.increment(1);
        time.record(took.as_secs_f64());
    }

    /// One SQL statement.
    pub fn statement(&self, took: Duration, failed: bool) {
        let (count, errors, time) = &self.statements;
        count.increment(1);
        if failed {
            errors.increment(1);
        }
        time.record(took.as_secs_f64());
    }

    /// Events queued to subscribers, and subscribers dropped for a full queue.
    pub fn deliveries(&self, delivered: u64, dropped: u64) {
        self.counter("cur_subscription_events_delivered_total", &[]).increment(delivered);
        if dropped > 0 {
            self.counter("cur_subscription_subscribers_dropped_total", &[]).increment(dropped);
        }
    }

    /// An operation of `role` refused for a spent budget.
    pub fn rate_limited(&self, role: &str) {
        self.counter("cur_rate_limited_total", &[("role", role)]).increment(1);
    }

    /// A budget check Redis did not answer.
    pub fn rate_limit_fallback(&self) {
        self.counter("cur_rate_limit_fallbacks_total", &[]).increment(1);
    }

    /// Audit records written.
    pub fn audit_records(&self, n: usize) {
        if n > 0 {
            self.counter("cur_audit_records_total", &[]).increment(n as u64);
        }
    }

    /// The text exposition, with `now`'s state.
    pub fn render(&self, now: &Snapshot) -> String {
        for (pool, in_use, idle, max) in &now.pools {
            let g =
                |state| self.gauge("cur_db_pool_connections", &[("pool", pool), ("state", state)]);
            g("in_use").set(f64::from(*in_use));
            g("idle").set(f64::from(*idle));
            self.gauge("cur_db_pool_max_connections", &[("pool", pool)]).set(f64::from(*max));
        }
        self.gauge("cur_db_up", &[]).set(if now.db_up { 1.0 } else { 0.0 });
        if let Some((in_use, lag)) = now.replica {
            self.gauge("cur_db_replica_in_use", &[]).set(if in_use { 1.0 } else { 0.0 });
            self.gauge("cur_db_replica_lag_seconds", &[]).set(lag);
        }
        for (topic, hits, misses, errors) in &now.cache {
            let t = [("topic", *topic)];
            self.counter("cur_cache_hits_total", &t).absolute(*hits);
            self.counter("cur_cache_misses_total", &t).absolute(*misses);
            self.counter("cur_cache_errors_total", &t).absolute(*errors);
        }
        self.gauge("cur_ws_connections", &[]).set(now.ws_connections as f64);
        self.gauge("cur_subscriptions", &[]).set(now.subscriptions as f64);
        for c in &now.connectors {
            self.connector(c);
        }
        self.handle.render()
    }

    fn connector(&self, c: &crate::service::connectors::Status) {
        use crate::service::connectors::Condition;
        let name = c.name.as_str();
        for (state, condition) in [
            ("running", Condition::Running),
            ("failing", Condition::Failing),
            ("paused", Condition::Paused),
        ] {
            let on = if c.condition == condition { 1.0 } else { 0.0 };
            self.gauge("cur_connector_state", &[("connector", name), ("state", state)]).set(on);
        }
        for (window, t) in [("1h", c.last_hour), ("24h", c.last_day)] {
            for (outcome, n) in
                [("created", t.created), ("duplicate", t.duplicates), ("rejected", t.rejected)]
            {
                let labels = [("connector", name), ("outcome", outcome), ("window", window)];
                self.gauge("cur_connector_items", &labels).set(f64::from(n));
            }
        }
        self.gauge("cur_connector_failures", &[("connector", name)]).set(f64::from(c.failures));
        let active = if c.holder.is_some() { 1.0 } else { 0.0 };
        self.gauge("cur_connector_active", &[("connector", name)]).set(active);
        if let Some(at) = c.last_success_at {
            self.gauge("cur_connector_last_success_timestamp_seconds", &[("connector", name)])
                .set(at.timestamp() as f64);
        }
    }

    /// Drains histogram samples into their buckets (run periodically).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// Counts one operation in flight until dropped.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grafana_dashboard_charts_every_metric_and_only_ours() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../docker/grafana-dashboard.json")).unwrap();
        let exprs: Vec<String> = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["targets"].as_array().unwrap().iter())
            .map(|t| t["expr"].as_str().unwrap().to_owned())
            .collect();
        let names = regex::Regex::new(r"cur_[a-z_]+").unwrap();
        let described: HashSet<&str> = DESCRIPTIONS.iter().map(|(n, ..)| *n).collect();
        let mut charted = HashSet::new();
        for expr in &exprs {
            for m in names.find_iter(expr) {
                let name = m.as_str();
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                assert!(described.contains(base), "the dashboard charts unknown {name}");
                charted.insert(base.to_owned());
            }
        }
        for name in described {
            assert!(charted.contains(name), "the dashboard lacks {name}");
        }
    }

    #[test]
    fn operation_labels_are_bounded() {
        let m = Metrics::new();
        assert_eq!(m.operation_label(Some("Towns")), "Towns");
        assert_eq!(m.operation_label(None), "anonymous");
        assert_eq!(m.operation_label(Some("a b")), "anonymous");
        for n in 0..MAX_OPERATIONS {
            m.operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(m.operation_label(Some("OneTooMany")), "other");
        assert_eq!(m.operation_label(Some("Towns")), "Towns");
    }
}
