//! People working in departments; their contacts are personal data.
use sea_orm::entity::prelude::*;

/// A staff member of a department.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub department_id: i32,
    pub full_name: String,
    pub position: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
