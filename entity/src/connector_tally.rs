//! Items a connector's page brought: created, duplicate, rejected.
use sea_orm::entity::prelude::*;

/// One page's counts, written with its rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_tally")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub connector: String,
    pub at: DateTimeUtc,
    pub created: i32,
    pub duplicates: i32,
    pub rejected: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
