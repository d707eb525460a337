//! The outbox of complaint events: every change to a complaint (and every deadline breach)
//! writes one in its own transaction; subscriptions read them in (`tx`, `id`) order.
use sea_orm::entity::prelude::*;

/// One event about a complaint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    /// `CREATED`, `ASSIGNED`, `STATUS_CHANGED`, `RESPONDED`, `OVERDUE_FIRST_RESPONSE` or
    /// `OVERDUE_RESOLUTION`.
    pub kind: String,
    pub at: DateTimeUtc,
    /// Unique when set: the same breach is recorded once.
    pub dedup_key: Option<String>,
    /// The writing transaction's id on Postgres (0 on SQLite): the event's position is
    /// (`tx`, `id`).
    pub tx: i64,
    /// The complaint's department after the event.
    pub department_id: Option<i32>,
    /// Its department before, on a reassignment.
    pub previous_department_id: Option<i32>,
    /// Its municipality.
    pub municipality_id: Option<i32>,
    /// Whether it is public after the event.
    pub is_public: bool,
    /// The complaint after the event, as JSON.
    pub snapshot: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
