//! What happened to complaints — assignments, status events, responses — fetched for a batch
//! of complaints at once and grouped by complaint. Each read keeps only the complaints the
//! caller's scope holds, in SQL, whatever ids it is handed.
use super::scope::Scoped;
use crate::{Result, auth::NoteScope};
use entity::{assignment, response, status_event};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Func},
};
use std::collections::HashMap;

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut map: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Rows of complaints `ids` that lie in `scoped`, as a condition on a `complaint_id` column.
fn of_complaints(
    db: &DatabaseConnection,
    column: impl ColumnTrait,
    scoped: Scoped,
    ids: &[i64],
) -> Condition {
    match scoped.ids(db.get_database_backend(), Some(ids)) {
        Some(in_scope) => Condition::all().add(column.in_subquery(in_scope)),
        None => Condition::all().add(column.is_in(ids.iter().copied())),
    }
}

/// Assignments of these complaints, oldest first.
pub async fn assignments(
    db: &DatabaseConnection,
    scoped: Scoped,
    complaint_ids: &[i64],
) -> Result<HashMap<i64, Vec<assignment::Model>>> {
    if complaint_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = assignment::Entity::find()
        .filter(of_complaints(db, assignment::Column::ComplaintId, scoped, complaint_ids))
        .order_by_asc(assignment::Column::AssignedAt)
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.complaint_id))
}

/// Status events of these complaints, oldest first.
pub async fn status_events(
    db: &DatabaseConnection,
    scoped: Scoped,
    complaint_ids: &[i64],
) -> Result<HashMap<i64, Vec<status_event::Model>>> {
    if complaint_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = status_event::Entity::find()
        .filter(of_complaints(db, status_event::Column::ComplaintId, scoped, complaint_ids))
        .order_by_asc(status_event::Column::At)
        .order_by_asc(status_event::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.complaint_id))
}

/// The responses `notes` lets a reader see, as a condition on `response`.
fn note_condition(notes: NoteScope) -> Condition {
    use response::Column as R;
    match notes {
        NoteScope::All => Condition::all(),
        NoteScope::PublicAndDepartment(dept) => {
            Condition::any().add(R::IsPublic.eq(true)).add(R::DepartmentId.eq(dept))
        }
        NoteScope::PublicOnly => Condition::all().add(R::IsPublic.eq(true)),
    }
}

/// The same condition as SQL text, for the list page's correlated count (ids are integers,
/// so formatting them in is safe).
pub fn note_sql(notes: NoteScope) -> String {
    match notes {
        NoteScope::All => "TRUE".into(),
        NoteScope::PublicAndDepartment(dept) => {
            format!("(response.is_public = TRUE OR response.department_id = {dept})")
        }
        NoteScope::PublicOnly => "response.is_public = TRUE".into(),
    }
}

/// Responses and notes of these complaints that `notes` lets the reader see, oldest first.
pub async fn responses(
    db: &DatabaseConnection,
    scoped: Scoped,
    complaint_ids: &[i64],
    notes: NoteScope,
) -> Result<HashMap<i64, Vec<response::Model>>> {
    if complaint_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = response::Entity::find()
        .filter(of_complaints(db, response::Column::ComplaintId, scoped, complaint_ids))
        .filter(note_condition(notes))
        .order_by_asc(response::Column::At)
        .order_by_asc(response::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.complaint_id))
}

/// Deliveries of answers back to the sources of these complaints, oldest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    scoped: Scoped,
    complaint_ids: &[i64],
) -> Result<HashMap<i64, Vec<entity::delivery::Model>>> {
    if complaint_ids.is_empty() {
        return Ok(HashMap::new());
    }
    use entity::delivery::{Column as D, Entity};
    let rows = Entity::find()
        .filter(of_complaints(db, D::ComplaintId, scoped, complaint_ids))
        .order_by_asc(D::Id)
        .all(db)
        .await?;
    Ok(group(rows, |d| d.complaint_id))
}

/// Number of responses the reader may see per complaint; absent means zero.
pub async fn response_counts(
    db: &DatabaseConnection,
    scoped: Scoped,
    complaint_ids: &[i64],
    notes: NoteScope,
) -> Result<HashMap<i64, i64>> {
    if complaint_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = response::Entity::find()
        .select_only()
        .column(response::Column::ComplaintId)
        .column_as(Expr::expr(Func::count(Expr::col(response::Column::Id))), "n")
        .filter(of_complaints(db, response::Column::ComplaintId, scoped, complaint_ids))
        .filter(note_condition(notes))
        .group_by(response::Column::ComplaintId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
