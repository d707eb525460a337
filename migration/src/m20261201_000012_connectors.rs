//! Pull connectors' shared state, one row per configured connector: the lease that lets
//! exactly one replica run it, the checkpoint (committed in the transaction of the rows it
//! covers), pause and run-now requests, and the last outcome; a tally of items per page for
//! the hour and day figures; and the CSV files a drop directory has had imported.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectorState {
    Table,
    Name,
    LeaseOwner,
    LeaseUntil,
    Checkpoint,
    Paused,
    RunRequested,
    LastRunAt,
    LastSuccessAt,
    LastError,
    LastErrorAt,
    Failures,
    NextAttemptAt,
}

#[derive(DeriveIden)]
enum ConnectorTally {
    Table,
    Id,
    Connector,
    At,
    Created,
    Duplicates,
    Rejected,
}

#[derive(DeriveIden)]
enum ConnectorFile {
    Table,
    Connector,
    Name,
    Sha256,
    Rows,
    ImportedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConnectorState::Table)
                .col(string(ConnectorState::Name).primary_key())
                .col(string_null(ConnectorState::LeaseOwner))
                .col(timestamp_with_time_zone_null(ConnectorState::LeaseUntil))
                .col(text_null(ConnectorState::Checkpoint))
                .col(boolean(ConnectorState::Paused).default(false))
                .col(boolean(ConnectorState::RunRequested).default(false))
                .col(timestamp_with_time_zone_null(ConnectorState::LastRunAt))
                .col(timestamp_with_time_zone_null(ConnectorState::LastSuccessAt))
                .col(text_null(ConnectorState::LastError))
                .col(timestamp_with_time_zone_null(ConnectorState::LastErrorAt))
                .col(integer(ConnectorState::Failures).default(0))
                .col(timestamp_with_time_zone_null(ConnectorState::NextAttemptAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ConnectorTally::Table)
                .col(big_pk_auto(ConnectorTally::Id))
                .col(string(ConnectorTally::Connector))
                .col(timestamp_with_time_zone(ConnectorTally::At))
                .col(integer(ConnectorTally::Created))
                .col(integer(ConnectorTally::Duplicates))
                .col(integer(ConnectorTally::Rejected))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_connector_tally_connector_at")
                .table(ConnectorTally::Table)
                .col(ConnectorTally::Connector)
                .col(ConnectorTally::At)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ConnectorFile::Table)
                .col(string(ConnectorFile::Connector))
                .col(string(ConnectorFile::Name))
                .col(string(ConnectorFile::Sha256))
                .col(integer(ConnectorFile::Rows))
                .col(timestamp_with_time_zone(ConnectorFile::ImportedAt))
                .primary_key(
                    Index::create()
                        .col(ConnectorFile::Connector)
                        .col(ConnectorFile::Name)
                        .col(ConnectorFile::Sha256),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ConnectorFile::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ConnectorTally::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ConnectorState::Table).to_owned()).await?;
        Ok(())
    }
}
