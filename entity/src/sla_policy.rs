//! Deadlines by source, category and priority.
use crate::enums::{Category, Priority, Source};
use sea_orm::entity::prelude::*;

/// A deadline rule; the most specific matching rule wins.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policy")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub source: Option<Source>,
    pub category: Option<Category>,
    pub priority: Option<Priority>,
    pub first_response_amount: i32,
    /// `hours` or `working_days`.
    pub first_response_unit: String,
    pub resolution_amount: i32,
    /// `hours` or `working_days`.
    pub resolution_unit: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
