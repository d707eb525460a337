//! A generation per KPI rollup part: a random number every write of the part replaces. The
//! gateway keeps the parts it has read in memory, and a KPI request then reads only the
//! parts' generations (a few thousand narrow rows for a year) and fetches the entries of the
//! parts whose generation changed, instead of a year's 48 MB of entries every time.
//!
//! Random rather than counted, so that a part rebuilt from scratch (or a database restored
//! next to another) never shows an old generation with new entries.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KpiBlock {
    Table,
    Generation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(KpiBlock::Table)
                .add_column(
                    ColumnDef::new(KpiBlock::Generation).big_integer().not_null().default(0),
                )
                .to_owned(),
        )
        .await?;
        let random = match m.get_database_backend() {
            DbBackend::Postgres => "(random() * 9.2e18)::bigint",
            _ => "random()",
        };
        let fill = format!("UPDATE kpi_block SET generation = {random}");
        m.get_connection().execute_unprepared(&fill).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(KpiBlock::Table).drop_column(KpiBlock::Generation).to_owned(),
        )
        .await
    }
}
