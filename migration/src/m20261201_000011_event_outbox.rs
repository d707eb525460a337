//! The outbox of every complaint event (created, assigned, status changed, responded,
//! overdue), written in the transaction of the change it records, for subscriptions:
//! - `tx`: on Postgres the writing transaction's id (`pg_current_xact_id`). Events are read in
//!   (`tx`, `id`) order and only below the oldest transaction still running, so a reader never
//!   passes an event that commits later with a smaller position (ids are taken at insert, not
//!   at commit). SQLite has one writer at a time: `tx` stays 0 and ids are in commit order.
//! - the complaint's department before and after, municipality and public flag: the row scope
//!   of an event, applied in SQL on a replay;
//! - `snapshot`: the complaint as it is after the event (JSON), what subscribers receive.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "complaint_event";

/// Columns added, in order (SQLite adds one column per statement).
fn columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::new(Alias::new("department_id")).integer().null().to_owned(),
        ColumnDef::new(Alias::new("previous_department_id")).integer().null().to_owned(),
        ColumnDef::new(Alias::new("municipality_id")).integer().null().to_owned(),
        ColumnDef::new(Alias::new("is_public")).boolean().not_null().default(false).to_owned(),
        ColumnDef::new(Alias::new("snapshot")).text().null().to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE complaint_event ADD COLUMN tx BIGINT NOT NULL \
                 DEFAULT (pg_current_xact_id()::text::bigint)",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "ALTER TABLE complaint_event ADD COLUMN tx BIGINT NOT NULL DEFAULT 0",
            )
            .await?;
        }
        for mut column in columns() {
            m.alter_table(
                Table::alter().table(Alias::new(TABLE)).add_column(&mut column).to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_complaint_event_position")
                .table(Alias::new(TABLE))
                .col(Alias::new("tx"))
                .col(Alias::new("id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_complaint_event_at")
                .table(Alias::new(TABLE))
                .col(Alias::new("at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_complaint_event_at", "ix_complaint_event_position"] {
            m.drop_index(Index::drop().name(name).table(Alias::new(TABLE)).to_owned()).await?;
        }
        let names = ["snapshot", "is_public", "municipality_id", "previous_department_id"];
        for name in names.into_iter().chain(["department_id", "tx"]) {
            m.alter_table(
                Table::alter().table(Alias::new(TABLE)).drop_column(Alias::new(name)).to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
