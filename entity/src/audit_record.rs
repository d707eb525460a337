//! Who read personal data of which complaint, and when.
use sea_orm::entity::prelude::*;

/// One personal-data read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_record")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sub: String,
    pub role: String,
    pub complaint_id: i64,
    pub operation: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
