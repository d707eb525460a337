//! What `search` matches, kept beside the complaint so list queries stay narrow.
use sea_orm::entity::prelude::*;

/// The lower-cased number, text and address of one complaint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_search")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: i64,
    /// Lower-cased in Rust: SQLite's LOWER and LIKE fold ASCII only, so the same search
    /// behaves the same on every backend.
    pub text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
