//! Regional executive departments and municipal administrations.
use sea_orm::entity::prelude::*;

/// A department that answers complaints.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "department")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Stable short code (`health`, `admin-surgut`), unique.
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    /// `center`, `regional` or `municipal`.
    pub kind: String,
    pub parent_id: Option<i32>,
    pub municipality_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
