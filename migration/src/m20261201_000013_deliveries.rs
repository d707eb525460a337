//! Answers sent back to where complaints came from: which connector registered a complaint
//! (when its source takes answers), and the outbox of deliveries — written in the
//! transaction of the change they report, claimed by one replica at a time, retried with a
//! backoff, unique per change and target so a change is delivered once.
use crate::m20261129_000002_create_complaints::Complaint;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ComplaintOrigin {
    Table,
    ComplaintId,
    Connector,
}

#[derive(DeriveIden)]
enum Delivery {
    Table,
    Id,
    ComplaintId,
    Target,
    DedupKey,
    Body,
    State,
    Attempts,
    LastError,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ComplaintOrigin::Table)
                .col(big_integer(ComplaintOrigin::ComplaintId).primary_key())
                .col(string(ComplaintOrigin::Connector))
                .foreign_key(
                    ForeignKey::create()
                        .from(ComplaintOrigin::Table, ComplaintOrigin::ComplaintId)
                        .to(Complaint::Table, Complaint::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Delivery::Table)
                .col(big_pk_auto(Delivery::Id))
                .col(big_integer(Delivery::ComplaintId))
                .col(string(Delivery::Target))
                .col(string(Delivery::DedupKey).unique_key())
                .col(text(Delivery::Body))
                .col(string(Delivery::State))
                .col(integer(Delivery::Attempts).default(0))
                .col(text_null(Delivery::LastError))
                .col(timestamp_with_time_zone(Delivery::NextAttemptAt))
                .col(string_null(Delivery::ClaimedBy))
                .col(timestamp_with_time_zone_null(Delivery::ClaimedUntil))
                .col(timestamp_with_time_zone(Delivery::CreatedAt))
                .col(timestamp_with_time_zone_null(Delivery::DeliveredAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Delivery::Table, Delivery::ComplaintId)
                        .to(Complaint::Table, Complaint::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_delivery_due")
                .table(Delivery::Table)
                .col(Delivery::State)
                .col(Delivery::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_delivery_complaint")
                .table(Delivery::Table)
                .col(Delivery::ComplaintId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Delivery::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ComplaintOrigin::Table).to_owned()).await?;
        Ok(())
    }
}
