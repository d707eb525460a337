//! The KPI rollup: rows per local day (Asia/Yekaterinburg) and municipality holding a packed
//! 48-byte entry per complaint received that day (see `domain::kpi::Entry`), split into parts
//! of at most 1,024 entries so that a write never rewrites more than 48 KB. Exact
//! percentiles need every duration of a window; reading them as a few thousand blobs instead
//! of a million rows is what makes a year of KPIs fast. The gateway keeps the blocks in step
//! in each write's transaction and fills them from the complaints when the table is empty.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KpiBlock {
    Table,
    Day,
    MunicipalityId,
    Part,
    Entries,
}

#[derive(DeriveIden)]
enum Municipality {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KpiBlock::Table)
                .if_not_exists()
                .col(ColumnDef::new(KpiBlock::Day).string_len(10).not_null())
                .col(ColumnDef::new(KpiBlock::MunicipalityId).integer().not_null())
                .col(ColumnDef::new(KpiBlock::Part).integer().not_null())
                .col(ColumnDef::new(KpiBlock::Entries).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(KpiBlock::Day)
                        .col(KpiBlock::MunicipalityId)
                        .col(KpiBlock::Part),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(KpiBlock::Table, KpiBlock::MunicipalityId)
                        .to(Municipality::Table, Municipality::Id),
                )
                .to_owned(),
        )
        .await?;
        // Entries are random-looking bytes: compressing them costs CPU on every read and
        // saves little.
        crate::on_postgres(m, "ALTER TABLE kpi_block ALTER COLUMN entries SET STORAGE EXTERNAL")
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(KpiBlock::Table).to_owned()).await
    }
}
