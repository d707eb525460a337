//! Indexes for the `auditLog` filters: by reader (`sub`) and by complaint, newest first.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditRecord {
    Table,
    Id,
    Sub,
    ComplaintId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_audit_record_sub_id")
                .table(AuditRecord::Table)
                .col(AuditRecord::Sub)
                .col(AuditRecord::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_record_complaint_id")
                .table(AuditRecord::Table)
                .col(AuditRecord::ComplaintId)
                .col(AuditRecord::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_audit_record_complaint_id", "ix_audit_record_sub_id"] {
            m.drop_index(Index::drop().name(name).table(AuditRecord::Table).to_owned()).await?;
        }
        Ok(())
    }
}
