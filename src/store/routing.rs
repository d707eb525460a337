//! Routing rules: listed for everyone, edited by operators.
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use entity::{
    Category,
    routing_rule::{self, Column as R},
};
use sea_orm::{
    ActiveEnum, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryOrder, Statement,
    Value,
};

/// Every rule: region-wide ones first, then by category and municipality.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<routing_rule::Model>> {
    Ok(routing_rule::Entity::find()
        .order_by_asc(R::MunicipalityId)
        .order_by_asc(R::Category)
        .order_by_asc(R::Id)
        .all(db)
        .await?)
}

/// Sets where `category` in `municipality` (None: region-wide) goes; one rule per pair. One
/// atomic statement against the pair's unique index, so concurrent edits of the same pair
/// leave one rule (the last writer's) and never fail.
pub async fn set(
    db: &DatabaseConnection,
    category: Category,
    municipality: Option<i32>,
    department: i32,
    now: DateTime<Utc>,
) -> Result<routing_rule::Model> {
    let backend = db.get_database_backend();
    // Written once for both backends: `$n` placeholders are Postgres', SQLite reads `?n`.
    let sql = "INSERT INTO routing_rule (category, municipality_id, department_id, updated_at) \
               VALUES ($1, $2, $3, $4) \
               ON CONFLICT (category, (COALESCE(municipality_id, 0))) DO UPDATE \
               SET department_id = excluded.department_id, updated_at = excluded.updated_at \
               RETURNING id, category, municipality_id, department_id, updated_at";
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    let values: [Value; 4] =
        [category.to_value().into(), municipality.into(), department.into(), now.into()];
    routing_rule::Model::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .one(db)
        .await?
        .ok_or_else(|| Error::Internal("the routing-rule upsert returned no row".into()))
}

/// Deletes rule `id`; NOT_FOUND if there is none.
pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<()> {
    let done = routing_rule::Entity::delete_by_id(id).exec(db).await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound(format!("routing rule {id}")));
    }
    Ok(())
}
