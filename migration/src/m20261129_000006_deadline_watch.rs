//! The deadline watch: an outbox of complaint events (overdue now; the subscriptions issue
//! publishes from it), deduplicated so each breach is reported once across replicas, and the
//! deadline indexes its scan uses.
use crate::m20261129_000002_create_complaints::Complaint;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ComplaintEvent {
    Table,
    Id,
    ComplaintId,
    Kind,
    At,
    DedupKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ComplaintEvent::Table)
                .col(big_pk_auto(ComplaintEvent::Id))
                .col(big_integer(ComplaintEvent::ComplaintId))
                .col(string(ComplaintEvent::Kind))
                .col(timestamp_with_time_zone(ComplaintEvent::At))
                // Set for events that must happen once (a deadline breach); NULLs never clash.
                .col(string_null(ComplaintEvent::DedupKey).unique_key())
                .foreign_key(
                    ForeignKey::create()
                        .from(ComplaintEvent::Table, ComplaintEvent::ComplaintId)
                        .to(Complaint::Table, Complaint::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_complaint_first_response_due", Complaint::FirstResponseDueAt),
            ("ix_complaint_resolution_due", Complaint::ResolutionDueAt),
        ] {
            m.create_index(Index::create().name(name).table(Complaint::Table).col(col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_complaint_resolution_due", "ix_complaint_first_response_due"] {
            m.drop_index(Index::drop().name(name).table(Complaint::Table).to_owned()).await?;
        }
        m.drop_table(Table::drop().table(ComplaintEvent::Table).to_owned()).await
    }
}
