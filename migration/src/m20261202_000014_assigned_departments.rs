//! A ministry reads its department's current complaints and every complaint ever assigned to
//! it. Asked through the assignment table (`id IN (SELECT complaint_id FROM assignment WHERE
//! department_id = D)`), Postgres hashes all of D's assignments on every query — 81k rows for
//! a large department of 1M complaints, 24 ms a list page, 414 ms when the page's filters match
//! nothing of D's. Each complaint keeps the departments it was ever assigned to, in an indexed
//! array beside its row, so the scope is a condition on the row itself: cheap per row, and a
//! GIN index for the bitmap plans of counts and sparse filters.
//!
//! The database keeps the array: a statement trigger on `assignment` folds the departments of
//! every inserted or changed row in (one UPDATE per statement, so a COPY of a million
//! assignments costs one join, and rows that already hold the department are not written).
//! Postgres only: SQLite (the embedded demo) keeps asking the assignment table.
use sea_orm_migration::prelude::*;

crate::postgres_only!();

const UP: &str = r#"
ALTER TABLE complaint ADD COLUMN IF NOT EXISTS assigned_departments integer[] NOT NULL DEFAULT '{}';
UPDATE complaint c SET assigned_departments = a.departments
  FROM (SELECT complaint_id, array_agg(DISTINCT department_id ORDER BY department_id) AS departments
          FROM assignment GROUP BY complaint_id) a
 WHERE a.complaint_id = c.id;
CREATE INDEX IF NOT EXISTS ix_complaint_assigned_departments ON complaint USING gin (assigned_departments);
CREATE OR REPLACE FUNCTION cur_fold_assigned_departments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE complaint c
     SET assigned_departments = ARRAY(SELECT DISTINCT d FROM unnest(c.assigned_departments || a.departments) d ORDER BY d)
    FROM (SELECT complaint_id, array_agg(DISTINCT department_id) AS departments
            FROM added GROUP BY complaint_id) a
   WHERE c.id = a.complaint_id AND NOT c.assigned_departments @> a.departments;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS tr_assignment_inserted ON assignment;
CREATE TRIGGER tr_assignment_inserted AFTER INSERT ON assignment
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION cur_fold_assigned_departments();
DROP TRIGGER IF EXISTS tr_assignment_updated ON assignment;
CREATE TRIGGER tr_assignment_updated AFTER UPDATE ON assignment
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION cur_fold_assigned_departments();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS tr_assignment_inserted ON assignment;
DROP TRIGGER IF EXISTS tr_assignment_updated ON assignment;
DROP FUNCTION IF EXISTS cur_fold_assigned_departments();
DROP INDEX IF EXISTS ix_complaint_assigned_departments;
ALTER TABLE complaint DROP COLUMN IF EXISTS assigned_departments;
"#;
