//! An answer on its way back to a complaint's source.
use sea_orm::entity::prelude::*;

/// One delivery of one change to one target.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    /// The connector whose source it goes to.
    pub target: String,
    /// The change and target it reports (unique: a change is delivered once).
    pub dedup_key: String,
    /// What is sent (JSON).
    pub body: String,
    /// PENDING, DELIVERED or FAILED.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// The replica sending it, while `claimed_until` has not passed.
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
