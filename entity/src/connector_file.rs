//! A CSV file a drop-directory connector has imported (by name and content).
use sea_orm::entity::prelude::*;

/// One imported file.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_file")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connector: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    pub rows: i32,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
