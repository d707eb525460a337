//! The directory: municipalities, departments and staff, listed or looked up in batches.
use crate::Result;
use entity::{department, municipality, staff};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// All municipalities by name.
pub async fn municipalities(db: &DatabaseConnection) -> Result<Vec<municipality::Model>> {
    Ok(municipality::Entity::find().order_by_asc(municipality::Column::Id).all(db).await?)
}

/// All departments, regional first.
pub async fn departments(db: &DatabaseConnection) -> Result<Vec<department::Model>> {
    Ok(department::Entity::find().order_by_asc(department::Column::Id).all(db).await?)
}

/// Municipalities with these ids.
pub async fn municipalities_by_id(
    db: &DatabaseConnection,
    ids: &[i32],
) -> Result<HashMap<i32, municipality::Model>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = municipality::Entity::find()
        .filter(municipality::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Departments with these ids.
pub async fn departments_by_id(
    db: &DatabaseConnection,
    ids: &[i32],
) -> Result<HashMap<i32, department::Model>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = department::Entity::find()
        .filter(department::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|d| (d.id, d)).collect())
}

/// Staff with these ids.
pub async fn staff_by_id(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<HashMap<i64, staff::Model>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows =
        staff::Entity::find().filter(staff::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|s| (s.id, s)).collect())
}
