//! The body an official acted for (a department; none: the center itself), on every history
//! line and assignment: a ministry reads its own department's officials' logins, a
//! municipality its administration's, the public only the body's name.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The history tables that record who acted.
const TABLES: [&str; 2] = ["status_event", "assignment"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per table and column: SQLite adds one column per statement.
        for table in TABLES {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(ColumnDef::new(Alias::new("actor_department_id")).integer().null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new("actor_department_id"))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
