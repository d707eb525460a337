//! The connector that registered a complaint, when its source takes answers back.
use sea_orm::entity::prelude::*;

/// One complaint's origin.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_origin")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: i64,
    pub connector: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
