//! Where complaints of a category in a municipality are routed.
use crate::enums::Category;
use sea_orm::entity::prelude::*;

/// One routing rule; a municipality's own rule beats the region-wide one (NULL municipality).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_rule")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub category: Category,
    pub municipality_id: Option<i32>,
    pub department_id: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
