//! Schema migrations of the ЦУР gateway; the same migrations run on Postgres and SQLite.
pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_directory;
mod m20261129_000002_create_complaints;
mod m20261129_000003_create_history;
mod m20261129_000004_audit_indexes;
mod m20261129_000005_routing_and_calendar;
mod m20261129_000006_deadline_watch;
mod m20261129_000007_reopened_index;
mod m20261129_000008_kpi_blocks;
mod m20261201_000009_acting_body;
mod m20261201_000010_routing_rule_pairs;
mod m20261201_000011_event_outbox;
mod m20261201_000012_connectors;
mod m20261201_000013_deliveries;
mod m20261202_000014_assigned_departments;
mod m20261202_000015_frontend_reads;
mod m20261202_000016_kpi_block_generation;
mod m20261202_000017_department_counts;
mod m20261202_000018_open_department_counts;

/// Runs `sql` (one or more statements) on Postgres, and nothing on SQLite: for what only
/// Postgres has (arrays, GIN and trigram indexes, triggers, storage settings).
async fn on_postgres(m: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if m.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        m.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

/// A migration of Postgres-only SQL: `Migration` running the module's `UP` and `DOWN`
/// through [`on_postgres`]. Its name is still its file's (`file!()` is the invocation's).
macro_rules! postgres_only {
    () => {
        #[derive(DeriveMigrationName)]
        pub struct Migration;

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
                crate::on_postgres(m, UP).await
            }

            async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
                crate::on_postgres(m, DOWN).await
            }
        }
    };
}
use postgres_only;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_directory::Migration),
            Box::new(m20261129_000002_create_complaints::Migration),
            Box::new(m20261129_000003_create_history::Migration),
            Box::new(m20261129_000004_audit_indexes::Migration),
            Box::new(m20261129_000005_routing_and_calendar::Migration),
            Box::new(m20261129_000006_deadline_watch::Migration),
            Box::new(m20261129_000007_reopened_index::Migration),
            Box::new(m20261129_000008_kpi_blocks::Migration),
            Box::new(m20261201_000009_acting_body::Migration),
            Box::new(m20261201_000010_routing_rule_pairs::Migration),
            Box::new(m20261201_000011_event_outbox::Migration),
            Box::new(m20261201_000012_connectors::Migration),
            Box::new(m20261201_000013_deliveries::Migration),
            Box::new(m20261202_000014_assigned_departments::Migration),
            Box::new(m20261202_000015_frontend_reads::Migration),
            Box::new(m20261202_000016_kpi_block_generation::Migration),
            Box::new(m20261202_000017_department_counts::Migration),
            Box::new(m20261202_000018_open_department_counts::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_is_named_after_its_file_in_order() {
        // A name is what the migrations table records: one taken from the wrong file (say a
        // macro's) would run a migration again, or skip one.
        let names: Vec<String> =
            Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(names.len(), 18);
        for (i, name) in names.iter().enumerate() {
            assert!(
                name.starts_with('m') && name[1..9].chars().all(|c| c.is_ascii_digit()),
                "{name}"
            );
            assert_eq!(&name[10..16], format!("{:06}", i + 1), "{name}");
        }
        assert_eq!(names[17], "m20261202_000018_open_department_counts");
    }
}
