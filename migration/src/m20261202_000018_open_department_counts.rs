//! A ministry's overdue count (`store::counts`) in two disjoint halves of its scope, each from
//! a small index instead of the department's rows in the heap (43–96 ms at 1M):
//!
//! - the open complaints it holds now, by department, with the deadline columns the overdue
//!   test reads: counted index-only;
//! - the open complaints handed on from it: the departments a complaint was assigned to
//!   besides its current one, `array_remove(assigned_departments, department_id)`, GIN-indexed
//!   over the open rows only (a few hundred per department).
//!
//! Postgres only: SQLite (the embedded demo) counts its few rows.
use sea_orm_migration::prelude::*;

crate::postgres_only!();

const UP: &str = r#"
CREATE INDEX IF NOT EXISTS ix_complaint_open_department ON complaint (department_id)
  INCLUDE (first_response_at, first_response_due_at, resolution_due_at)
  WHERE status NOT IN ('RESOLVED', 'REJECTED');
CREATE INDEX IF NOT EXISTS ix_complaint_open_handed_on ON complaint
  USING gin (array_remove(assigned_departments, department_id))
  WHERE status NOT IN ('RESOLVED', 'REJECTED');
"#;

const DOWN: &str = r#"
DROP INDEX IF EXISTS ix_complaint_open_handed_on;
DROP INDEX IF EXISTS ix_complaint_open_department;
"#;
