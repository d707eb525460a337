//! Answers to citizens (public) and internal notes.
use sea_orm::entity::prelude::*;

/// One response or note.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "response")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub complaint_id: i64,
    pub department_id: Option<i32>,
    pub staff_id: Option<i64>,
    pub text: String,
    /// true: sent to the citizen; false: an internal note.
    pub is_public: bool,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
