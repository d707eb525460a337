//! A ministry's whole scope is counted from index entries (`store::counts`): its assignments,
//! read index-only, and the complaints it holds with no assignment row. Those are none unless
//! the table was edited by hand; this partial index holds exactly them, so counting them reads
//! an (empty) index instead of the department's rows.
//!
//! Postgres only: SQLite (the embedded demo) counts its few rows.
use sea_orm_migration::prelude::*;

crate::postgres_only!();

const UP: &str = "CREATE INDEX IF NOT EXISTS ix_complaint_unassigned_department ON complaint (department_id) \
    WHERE NOT (assigned_departments @> ARRAY[department_id])";

const DOWN: &str = "DROP INDEX IF EXISTS ix_complaint_unassigned_department";
