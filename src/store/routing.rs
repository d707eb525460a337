//! Routing rules: listed for everyone, edited by operators.
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use entity::{
    Category,
    routing_rule::{self, Column as R},
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
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

/// Sets where `category` in `municipality` (None: region-wide) goes; one rule per pair.
pub async fn set(
    db: &DatabaseConnection,
    category: Category,
    municipality: Option<i32>,
    department: i32,
    now: DateTime<Utc>,
) -> Result<routing_rule::Model> {
    let existing = routing_rule::Entity::find()
        .filter(R::Category.eq(category))
        .filter(match municipality {
            Some(m) => R::MunicipalityId.eq(m),
            None => R::MunicipalityId.is_null(),
        })
        .one(db)
        .await?;
    let rule = match existing {
        Some(rule) => {
            let mut active = rule.into_active_model();
            active.department_id = Set(department);
            active.updated_at = Set(now);
            active.update(db).await?
        }
        None => {
            routing_rule::ActiveModel {
                id: NotSet,
                category: Set(category),
                municipality_id: Set(municipality),
                department_id: Set(department),
                updated_at: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    Ok(rule)
}

/// Deletes rule `id`; NOT_FOUND if there is none.
pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<()> {
    let done = routing_rule::Entity::delete_by_id(id).exec(db).await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound(format!("routing rule {id}")));
    }
    Ok(())
}
