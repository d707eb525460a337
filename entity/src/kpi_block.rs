//! The KPI rollup: packed per-complaint KPI entries, blocks per local day and municipality.
use sea_orm::entity::prelude::*;

/// One block of entries.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kpi_block")]
pub struct Model {
    /// Local day (Asia/Yekaterinburg), `YYYY-MM-DD`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    /// Municipality of the complaints.
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_id: i32,
    /// Part of the day's block (0, 1, …), each at most 1,024 entries.
    #[sea_orm(primary_key, auto_increment = false)]
    pub part: i32,
    /// 48 bytes per complaint, in no particular order.
    pub entries: Vec<u8>,
    /// Random, new on every write of the part: what an in-memory copy is checked against.
    pub generation: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
