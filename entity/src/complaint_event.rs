//! The outbox of complaint events (deadline breaches now; subscriptions publish from it).
use sea_orm::entity::prelude::*;

/// One event about a complaint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    /// `OVERDUE_FIRST_RESPONSE` or `OVERDUE_RESOLUTION`.
    pub kind: String,
    pub at: DateTimeUtc,
    /// Unique when set: the same breach is recorded once.
    pub dedup_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
