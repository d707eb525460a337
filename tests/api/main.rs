//! One integration-test binary: every test starts the real gateway on its own database
//! (a fresh Postgres database or SQLite file), so tests run in parallel.
mod errors;
mod filters;
mod helpers;
mod http;
mod nested;
mod pagination;
mod schema;
mod seed;
