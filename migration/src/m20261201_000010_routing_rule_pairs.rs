//! One routing rule per category and municipality, region-wide rules included: NULLs are
//! distinct in a plain unique index, so the index is on `COALESCE(municipality_id, 0)` (no
//! municipality has id 0), and the store's upsert is one `INSERT … ON CONFLICT` against it.
//! Duplicates a race could have left are dropped first, keeping the newest.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "DELETE FROM routing_rule WHERE id NOT IN \
             (SELECT MAX(id) FROM routing_rule GROUP BY category, COALESCE(municipality_id, 0))",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ux_routing_rule_category_municipality").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_routing_rule_pair ON routing_rule \
             (category, (COALESCE(municipality_id, 0)))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ux_routing_rule_pair").await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_routing_rule_category_municipality ON routing_rule \
             (category, municipality_id)",
        )
        .await?;
        Ok(())
    }
}
