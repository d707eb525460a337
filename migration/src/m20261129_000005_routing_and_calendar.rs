//! Routing rules (category × municipality -> department), editable by operators, and the
//! holiday calendar that working-day deadlines skip.
use crate::m20261129_000001_create_directory::{Department, Municipality};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoutingRule {
    Table,
    Id,
    Category,
    MunicipalityId,
    DepartmentId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Holiday {
    Table,
    Day,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RoutingRule::Table)
                .col(pk_auto(RoutingRule::Id))
                .col(string(RoutingRule::Category))
                // NULL: every municipality without a rule of its own.
                .col(integer_null(RoutingRule::MunicipalityId))
                .col(integer(RoutingRule::DepartmentId))
                .col(timestamp_with_time_zone(RoutingRule::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RoutingRule::Table, RoutingRule::MunicipalityId)
                        .to(Municipality::Table, Municipality::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RoutingRule::Table, RoutingRule::DepartmentId)
                        .to(Department::Table, Department::Id),
                )
                .to_owned(),
        )
        .await?;
        // One rule per category and municipality; NULLs are distinct in unique indexes, so the
        // region-wide rule is kept unique by the store (upsert by lookup) instead.
        m.create_index(
            Index::create()
                .name("ux_routing_rule_category_municipality")
                .table(RoutingRule::Table)
                .col(RoutingRule::Category)
                .col(RoutingRule::MunicipalityId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Holiday::Table)
                .col(date(Holiday::Day).primary_key())
                .col(string(Holiday::Name))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Holiday::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(RoutingRule::Table).to_owned()).await
    }
}
