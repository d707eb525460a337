//! The complaint table and the indexes behind the list, filter and KPI queries.
//!
//! Every list index ends in `(received_at, id)`: the default order is newest first and keyset
//! pagination compares that pair, so a filtered page is an index range scan, never a sort of the
//! whole filtered set.
use crate::m20261129_000001_create_directory::{Department, Municipality, Staff};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ComplaintSearch {
    Table,
    ComplaintId,
    Text,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Complaint {
    Table,
    Id,
    Number,
    Source,
    ExternalId,
    Category,
    MunicipalityId,
    Text,
    Address,
    Lat,
    Lon,
    AuthorName,
    AuthorPhone,
    AuthorEmail,
    AuthorProfileUrl,
    ReceivedAt,
    Status,
    Priority,
    DepartmentId,
    AssigneeId,
    FirstResponseDueAt,
    ResolutionDueAt,
    FirstResponseAt,
    ResolvedAt,
    IsPublic,
    Version,
    UpdatedAt,
}

/// (name, columns) of each secondary index.
const INDEXES: &[(&str, &[Complaint])] = &[
    ("ix_complaint_received", &[Complaint::ReceivedAt, Complaint::Id]),
    (
        "ix_complaint_municipality",
        &[Complaint::MunicipalityId, Complaint::ReceivedAt, Complaint::Id],
    ),
    (
        "ix_complaint_municipality_category",
        &[Complaint::MunicipalityId, Complaint::Category, Complaint::ReceivedAt, Complaint::Id],
    ),
    ("ix_complaint_department", &[Complaint::DepartmentId, Complaint::ReceivedAt, Complaint::Id]),
    ("ix_complaint_category", &[Complaint::Category, Complaint::ReceivedAt, Complaint::Id]),
    ("ix_complaint_status", &[Complaint::Status, Complaint::ReceivedAt, Complaint::Id]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Complaint::Table)
                .col(big_pk_auto(Complaint::Id))
                .col(string_uniq(Complaint::Number))
                .col(string(Complaint::Source))
                .col(string(Complaint::ExternalId))
                .col(string(Complaint::Category))
                .col(integer(Complaint::MunicipalityId))
                .col(text(Complaint::Text))
                .col(string_null(Complaint::Address))
                .col(double_null(Complaint::Lat))
                .col(double_null(Complaint::Lon))
                .col(string_null(Complaint::AuthorName))
                .col(string_null(Complaint::AuthorPhone))
                .col(string_null(Complaint::AuthorEmail))
                .col(string_null(Complaint::AuthorProfileUrl))
                .col(timestamp_with_time_zone(Complaint::ReceivedAt))
                .col(string(Complaint::Status))
                .col(string(Complaint::Priority))
                .col(integer_null(Complaint::DepartmentId))
                .col(big_integer_null(Complaint::AssigneeId))
                .col(timestamp_with_time_zone(Complaint::FirstResponseDueAt))
                .col(timestamp_with_time_zone(Complaint::ResolutionDueAt))
                .col(timestamp_with_time_zone_null(Complaint::FirstResponseAt))
                .col(timestamp_with_time_zone_null(Complaint::ResolvedAt))
                .col(boolean(Complaint::IsPublic).default(false))
                .col(integer(Complaint::Version).default(1))
                .col(timestamp_with_time_zone(Complaint::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Complaint::Table, Complaint::MunicipalityId)
                        .to(Municipality::Table, Municipality::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Complaint::Table, Complaint::DepartmentId)
                        .to(Department::Table, Department::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Complaint::Table, Complaint::AssigneeId)
                        .to(Staff::Table, Staff::Id),
                )
                .to_owned(),
        )
        .await?;
        // Idempotent ingestion: a source delivers the same complaint at most once.
        m.create_index(
            Index::create()
                .name("ux_complaint_source_external")
                .table(Complaint::Table)
                .col(Complaint::Source)
                .col(Complaint::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(Complaint::Table);
            for col in *cols {
                index.col(*col);
            }
            m.create_index(index.to_owned()).await?;
        }
        // Search text lives beside the complaint: list pages never read it.
        m.create_table(
            Table::create()
                .table(ComplaintSearch::Table)
                .col(big_integer(ComplaintSearch::ComplaintId).primary_key())
                .col(text(ComplaintSearch::Text))
                .foreign_key(
                    ForeignKey::create()
                        .from(ComplaintSearch::Table, ComplaintSearch::ComplaintId)
                        .to(Complaint::Table, Complaint::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ComplaintSearch::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Complaint::Table).to_owned()).await
    }
}
