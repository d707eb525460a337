//! The 22 municipalities of Yugra.
use sea_orm::entity::prelude::*;

/// A municipality (city district or district).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub name_en: String,
    /// `city_district` or `district`: data, not logic (districts are becoming municipal okrugs).
    pub kind: String,
    pub population: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
