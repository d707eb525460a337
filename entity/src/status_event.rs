//! Every lifecycle transition of a complaint.
use crate::enums::ComplaintStatus;
use sea_orm::entity::prelude::*;

/// One transition, with who made it and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    pub from_status: Option<ComplaintStatus>,
    pub to_status: ComplaintStatus,
    pub actor: String,
    /// The department the actor acted for; none: the center (operators, the system).
    pub actor_department_id: Option<i32>,
    pub comment: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
