//! A citizen's complaint or suggestion, the centre of the model.
use crate::enums::{Category, ComplaintStatus, Priority, Source};
use sea_orm::entity::prelude::*;

/// One complaint with its current state, deadlines and author.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "complaint")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Human-readable number, e.g. `86-2026-0001234`.
    #[sea_orm(unique)]
    pub number: String,
    pub source: Source,
    /// Identifier in the source system; unique per source.
    pub external_id: String,
    pub category: Category,
    pub municipality_id: i32,
    pub text: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub author_name: Option<String>,
    pub author_phone: Option<String>,
    pub author_email: Option<String>,
    pub author_profile_url: Option<String>,
    pub received_at: DateTimeUtc,
    pub status: ComplaintStatus,
    pub priority: Priority,
    pub department_id: Option<i32>,
    pub assignee_id: Option<i64>,
    pub first_response_due_at: DateTimeUtc,
    pub resolution_due_at: DateTimeUtc,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub is_public: bool,
    /// Optimistic lock: every change increments it.
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
