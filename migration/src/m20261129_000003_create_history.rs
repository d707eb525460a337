//! What happened to complaints: assignments, status events, responses, and the audit trail of
//! personal-data reads. Each is looked up by complaint, so each has a `complaint_id` index.
use crate::m20261129_000001_create_directory::{Department, Staff};
use crate::m20261129_000002_create_complaints::Complaint;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignment {
    Table,
    Id,
    ComplaintId,
    DepartmentId,
    StaffId,
    AssignedBy,
    AssignedAt,
    Reason,
}

#[derive(DeriveIden)]
enum StatusEvent {
    Table,
    Id,
    ComplaintId,
    FromStatus,
    ToStatus,
    Actor,
    Comment,
    At,
}

#[derive(DeriveIden)]
enum Response {
    Table,
    Id,
    ComplaintId,
    DepartmentId,
    StaffId,
    Text,
    IsPublic,
    At,
}

#[derive(DeriveIden)]
enum AuditRecord {
    Table,
    Id,
    Sub,
    Role,
    ComplaintId,
    Operation,
    At,
}

fn complaint_fk<T: IntoIden>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("complaint_id"))
        .to(Complaint::Table, Complaint::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Assignment::Table)
                .col(big_pk_auto(Assignment::Id))
                .col(big_integer(Assignment::ComplaintId))
                .col(integer(Assignment::DepartmentId))
                .col(big_integer_null(Assignment::StaffId))
                .col(string(Assignment::AssignedBy))
                .col(timestamp_with_time_zone(Assignment::AssignedAt))
                .col(string_null(Assignment::Reason))
                .foreign_key(&mut complaint_fk(Assignment::Table))
                .foreign_key(
                    ForeignKey::create()
                        .from(Assignment::Table, Assignment::DepartmentId)
                        .to(Department::Table, Department::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Assignment::Table, Assignment::StaffId)
                        .to(Staff::Table, Staff::Id),
                )
                .to_owned(),
        )
        .await?;
        // Serves both "history of a complaint" and the ministry scope "ever assigned to D".
        m.create_index(
            Index::create()
                .name("ix_assignment_complaint")
                .table(Assignment::Table)
                .col(Assignment::ComplaintId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_assignment_department")
                .table(Assignment::Table)
                .col(Assignment::DepartmentId)
                .col(Assignment::ComplaintId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StatusEvent::Table)
                .col(big_pk_auto(StatusEvent::Id))
                .col(big_integer(StatusEvent::ComplaintId))
                .col(string_null(StatusEvent::FromStatus))
                .col(string(StatusEvent::ToStatus))
                .col(string(StatusEvent::Actor))
                .col(string_null(StatusEvent::Comment))
                .col(timestamp_with_time_zone(StatusEvent::At))
                .foreign_key(&mut complaint_fk(StatusEvent::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_status_event_complaint")
                .table(StatusEvent::Table)
                .col(StatusEvent::ComplaintId)
                .col(StatusEvent::At)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Response::Table)
                .col(big_pk_auto(Response::Id))
                .col(big_integer(Response::ComplaintId))
                .col(integer_null(Response::DepartmentId))
                .col(big_integer_null(Response::StaffId))
                .col(text(Response::Text))
                .col(boolean(Response::IsPublic))
                .col(timestamp_with_time_zone(Response::At))
                .foreign_key(&mut complaint_fk(Response::Table))
                .foreign_key(
                    ForeignKey::create()
                        .from(Response::Table, Response::StaffId)
                        .to(Staff::Table, Staff::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_response_complaint")
                .table(Response::Table)
                .col(Response::ComplaintId)
                .col(Response::At)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditRecord::Table)
                .col(big_pk_auto(AuditRecord::Id))
                .col(string(AuditRecord::Sub))
                .col(string(AuditRecord::Role))
                .col(big_integer(AuditRecord::ComplaintId))
                .col(string_null(AuditRecord::Operation))
                .col(timestamp_with_time_zone(AuditRecord::At))
                .foreign_key(&mut complaint_fk(AuditRecord::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_record_at")
                .table(AuditRecord::Table)
                .col(AuditRecord::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditRecord::Table.into_iden(),
            Response::Table.into_iden(),
            StatusEvent::Table.into_iden(),
            Assignment::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
