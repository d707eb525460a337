//! One integration-test binary: every test starts the real gateway on its own database
//! (a fresh Postgres database or SQLite file), so tests run in parallel.
mod audit;
mod boundary;
mod boundary_entry_points;
mod cache;
mod compiled;
mod deadlines;
mod errors;
mod fields;
mod filters;
mod helpers;
mod http;
mod http_spec;
mod import;
mod ingest;
mod kpis;
mod lifecycle;
mod limits;
mod masking;
mod nested;
mod open311;
mod pagination;
mod roles;
mod schema;
mod seed;
mod tokens;
