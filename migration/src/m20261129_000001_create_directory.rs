//! The directory: municipalities, departments, staff and SLA policies — small tables every
//! complaint points into.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Municipality {
    Table,
    Id,
    Name,
    NameEn,
    Kind,
    Population,
}

#[derive(DeriveIden)]
pub(crate) enum Department {
    Table,
    Id,
    Code,
    Name,
    Kind,
    ParentId,
    MunicipalityId,
}

#[derive(DeriveIden)]
pub(crate) enum Staff {
    Table,
    Id,
    DepartmentId,
    FullName,
    Position,
    Phone,
    Email,
    Active,
}

#[derive(DeriveIden)]
enum SlaPolicy {
    Table,
    Id,
    Name,
    Source,
    Category,
    Priority,
    FirstResponseAmount,
    FirstResponseUnit,
    ResolutionAmount,
    ResolutionUnit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Municipality::Table)
                .col(pk_auto(Municipality::Id))
                .col(string_uniq(Municipality::Name))
                .col(string(Municipality::NameEn))
                .col(string(Municipality::Kind))
                .col(integer_null(Municipality::Population))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Department::Table)
                .col(pk_auto(Department::Id))
                .col(string_uniq(Department::Code))
                .col(string(Department::Name))
                .col(string(Department::Kind))
                .col(integer_null(Department::ParentId))
                .col(integer_null(Department::MunicipalityId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Department::Table, Department::ParentId)
                        .to(Department::Table, Department::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Department::Table, Department::MunicipalityId)
                        .to(Municipality::Table, Municipality::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Staff::Table)
                .col(big_pk_auto(Staff::Id))
                .col(integer(Staff::DepartmentId))
                .col(string(Staff::FullName))
                .col(string(Staff::Position))
                .col(string_null(Staff::Phone))
                .col(string_null(Staff::Email))
                .col(boolean(Staff::Active).default(true))
                .foreign_key(
                    ForeignKey::create()
                        .from(Staff::Table, Staff::DepartmentId)
                        .to(Department::Table, Department::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_staff_department")
                .table(Staff::Table)
                .col(Staff::DepartmentId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SlaPolicy::Table)
                .col(pk_auto(SlaPolicy::Id))
                .col(string(SlaPolicy::Name))
                .col(string_null(SlaPolicy::Source))
                .col(string_null(SlaPolicy::Category))
                .col(string_null(SlaPolicy::Priority))
                .col(integer(SlaPolicy::FirstResponseAmount))
                .col(string(SlaPolicy::FirstResponseUnit))
                .col(integer(SlaPolicy::ResolutionAmount))
                .col(string(SlaPolicy::ResolutionUnit))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SlaPolicy::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Staff::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Department::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Municipality::Table).to_owned()).await
    }
}
