//! Routing history: every time a complaint went to a department (and maybe a person).
use sea_orm::entity::prelude::*;

/// One assignment of a complaint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    pub department_id: i32,
    pub staff_id: Option<i64>,
    /// `sub` of who assigned it.
    pub assigned_by: String,
    /// The department the assigner acted for; none: the center (operators, routing rules).
    pub actor_department_id: Option<i32>,
    pub assigned_at: DateTimeUtc,
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
