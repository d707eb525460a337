//! A pull connector's shared state: lease, checkpoint, operator requests, last outcome.
use sea_orm::entity::prelude::*;

/// One configured connector, as every replica sees it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The replica running it, while `lease_until` has not passed.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    /// Where the next pull starts (JSON, by kind).
    pub checkpoint: Option<String>,
    pub paused: bool,
    pub run_requested: bool,
    pub last_run_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
    /// Failed pulls in a row.
    pub failures: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
