//! One integration-test binary: every test starts the real gateway on its own database
//! (a fresh Postgres database or SQLite file), so tests run in parallel.
/// Every allocation of the test process, counted: the gateway runs in it, so its live heap
/// is exact where resident memory would also count the allocator's fragmentation.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes allocated and not yet freed in this process.
pub fn live_heap() -> usize {
    ALLOCATOR.allocated()
}

mod audit;
mod boundary;
mod boundary_entry_points;
mod boundary_routes;
mod browser;
mod cache;
mod cluster;
mod compiled;
mod connectors;
mod cors;
mod dashboard;
mod deadlines;
mod details;
mod errors;
mod faults;
mod federation;
mod fields;
mod filters;
mod helpers;
mod http;
mod http_spec;
mod import;
mod ingest;
mod jwks;
mod kpis;
mod lifecycle;
mod limits;
mod load;
mod masking;
mod metrics;
mod nested;
mod open311;
#[cfg(feature = "otlp")]
mod otlp;
mod pagination;
mod persisted;
mod process;
mod pulls;
mod rate_limits;
mod replicas;
mod roles;
mod schema;
mod seed;
mod shutdown;
mod subscriptions;
mod tokens;
mod topology;
mod ws;
