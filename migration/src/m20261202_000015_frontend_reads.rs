//! The reads frontends make on every screen, at a million complaints: a substring search of
//! the texts and the open (and overdue) complaints. Measured as the governor on 1M rows: a
//! search for "батареи" was a `LIKE '%…%'` over every text (393–586 ms), and `overdue: true`
//! read every complaint to find the open ones (213–268 ms).
//!
//! - A trigram index on the search text: `LIKE '%needle%'` of three characters or more reads
//!   the index's candidates and rechecks only them (pg_trgm ships with Postgres and is a
//!   trusted extension: the database's owner may create it).
//! - A partial index of the open complaints in list order, holding what the overdue test
//!   reads: an overdue filter, and the open lists, scan only the open rows.
//!
//! Postgres only: SQLite (the embedded demo) scans its few rows.
use sea_orm_migration::prelude::*;

crate::postgres_only!();

const UP: &str = r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS ix_complaint_search_trgm ON complaint_search USING gin (text gin_trgm_ops);
CREATE INDEX IF NOT EXISTS ix_complaint_open ON complaint (received_at, id)
  INCLUDE (first_response_at, first_response_due_at, resolution_due_at)
  WHERE status NOT IN ('RESOLVED', 'REJECTED');
"#;

const DOWN: &str = r#"
DROP INDEX IF EXISTS ix_complaint_open;
DROP INDEX IF EXISTS ix_complaint_search_trgm;
"#;
