//! Changes to one complaint, each in one transaction with its history: optimistic locking on
//! `version` (a stale version is CONFLICT and writes nothing), the lifecycle checked by the
//! caller's plan (INVALID_TRANSITION writes nothing either).
use super::{
    Db,
    actor::{Actor, status_line},
    deliveries,
    events::{self, Kind, NewEvent},
    kpi_blocks,
    scope::Scoped,
};
use crate::domain::kpi_entry::Entry;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use entity::{
    ComplaintStatus, assignment,
    complaint::{self, Column as C},
    response,
};
use sea_orm::{
    ActiveValue::NotSet,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

/// What a change does, decided by the caller from the current row.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// New state (with a status event).
    pub status: Option<ComplaintStatus>,
    /// New department and assignee (with an assignment row).
    pub assign: Option<(i32, Option<i64>)>,
    /// A response to add.
    pub response: Option<NewResponse>,
    /// Comment of the status event or reason of the assignment.
    pub comment: Option<String>,
}

/// A response or internal note.
#[derive(Debug, Clone)]
pub struct NewResponse {
    /// Text.
    pub text: String,
    /// Sent to the citizen (true) or an internal note.
    pub public: bool,
    /// The writing department.
    pub department_id: Option<i32>,
}

/// Applies the plan that `decide` makes for complaint `id` in scope, if its version is
/// still `expected_version`. Returns the updated row.
pub async fn change(
    db: &Db,
    scoped: Scoped,
    id: i64,
    expected_version: i32,
    actor: &Actor,
    now: DateTime<Utc>,
    decide: impl FnOnce(&complaint::Model) -> Result<Plan>,
) -> Result<complaint::Model> {
    let (tx, _writer) = db.begin_write().await?;
    let current = scoped
        .complaints(tx.get_database_backend())
        .filter(C::Id.eq(id))
        .one(&tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("complaint {id}")))?;
    if current.version != expected_version {
        return Err(stale(id, current.version, expected_version));
    }
    let plan = decide(&current)?;
    let returned = update_row(&tx, &current, &plan, expected_version, now).await?;
    write_history(&tx, &current, &plan, actor, now).await?;
    // A reassignment's row is read again: its assignment's trigger added the new department
    // to `assigned_departments` after the UPDATE returned. Nothing else changes what the
    // scope reads (department, municipality, publicity), so the returned row is the row.
    let updated = match plan.assign {
        None => returned,
        Some(_) => scoped
            .complaints(tx.get_database_backend())
            .filter(C::Id.eq(id))
            .one(&tx)
            .await?
            .ok_or_else(|| {
                Error::Internal(format!("complaint {id} vanished in its own transaction"))
            })?,
    };
    update_kpi_entry(&tx, &current, &updated, plan.status == Some(ComplaintStatus::Reopened))
        .await?;
    events::append(&tx, &events_of(&current, &updated, &plan, now)).await?;
    deliveries::enqueue(&tx, &updated, &plan, now).await?;
    tx.commit().await?;
    Ok(updated)
}

/// The outbox events of one change, one per thing it did: a reassignment, a transition, a
/// response, each with the complaint as the change left it.
fn events_of<'a>(
    current: &complaint::Model,
    updated: &'a complaint::Model,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Vec<NewEvent<'a>> {
    let event = |kind, previous_department| NewEvent {
        kind,
        complaint: updated,
        previous_department,
        at: now,
    };
    let mut out = Vec::new();
    if plan.assign.is_some() {
        out.push(event(Kind::Assigned, current.department_id));
    }
    if plan.status.is_some() {
        out.push(event(Kind::StatusChanged, None));
    }
    if plan.response.is_some() {
        out.push(event(Kind::Responded, None));
    }
    out
}

/// Moves the complaint's KPI entry from its old to its new state, when they differ.
async fn update_kpi_entry(
    tx: &DatabaseTransaction,
    current: &complaint::Model,
    updated: &complaint::Model,
    reopens: bool,
) -> Result<()> {
    if !reopens && Entry::of(current, false) == Entry::of(updated, false) {
        return Ok(());
    }
    // Counted after this change's own history row: a reopening is one of them.
    let reopenings = kpi_blocks::reopenings(tx, current.id).await?;
    let change = kpi_blocks::Change {
        block: kpi_blocks::block_of(current),
        old: Some(Entry::of(current, reopenings > u64::from(reopens))),
        new: Entry::of(updated, reopenings > 0),
    };
    kpi_blocks::apply(tx, vec![change]).await
}

fn stale(id: i64, current: i32, expected: i32) -> Error {
    Error::Conflict(format!(
        "complaint {id} is at version {current}, not {expected}: reload it and try again"
    ))
}

/// One compare-and-set UPDATE: only if the version is still the expected one. Returns the
/// row as the UPDATE left it.
async fn update_row(
    tx: &DatabaseTransaction,
    current: &complaint::Model,
    plan: &Plan,
    expected_version: i32,
    now: DateTime<Utc>,
) -> Result<complaint::Model> {
    let mut update = complaint::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(current.id))
        .filter(C::Version.eq(expected_version));
    if let Some(status) = plan.status {
        update = update.col_expr(C::Status, Expr::val(status));
        match status {
            ComplaintStatus::Resolved => update = update.col_expr(C::ResolvedAt, Expr::val(now)),
            ComplaintStatus::Reopened => {
                update = update.col_expr(C::ResolvedAt, Expr::val(Option::<DateTime<Utc>>::None))
            }
            _ => {}
        }
    }
    if let Some((department, assignee)) = plan.assign {
        update = update
            .col_expr(C::DepartmentId, Expr::val(department))
            .col_expr(C::AssigneeId, Expr::val(assignee));
    }
    if plan.response.as_ref().is_some_and(|r| r.public) && current.first_response_at.is_none() {
        update = update.col_expr(C::FirstResponseAt, Expr::val(now));
    }
    // No row: another writer committed between our read and our write.
    let updated = update.exec_with_returning(tx).await?.into_iter().next();
    updated.ok_or_else(|| stale(current.id, current.version + 1, expected_version))
}

async fn write_history(
    tx: &DatabaseTransaction,
    current: &complaint::Model,
    plan: &Plan,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(to) = plan.status {
        let mut e = status_line(current.id, Some(current.status), to, actor, now);
        e.comment = sea_orm::ActiveValue::Set(plan.comment.clone());
        status_insert(tx, e).await?;
    }
    if let Some((department_id, staff_id)) = plan.assign {
        let row = assignment::Model {
            id: 0,
            complaint_id: current.id,
            department_id,
            staff_id,
            assigned_by: actor.login.clone(),
            actor_department_id: actor.department_id,
            assigned_at: now,
            reason: plan.comment.clone(),
        };
        assignment::Entity::insert(assignment::ActiveModel {
            id: NotSet,
            ..row.into_active_model()
        })
        .exec_without_returning(tx)
        .await?;
    }
    if let Some(r) = &plan.response {
        let row = response::Model {
            id: 0,
            complaint_id: current.id,
            department_id: r.department_id,
            staff_id: None,
            text: r.text.clone(),
            is_public: r.public,
            at: now,
        };
        response::Entity::insert(response::ActiveModel { id: NotSet, ..row.into_active_model() })
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

async fn status_insert(
    tx: &DatabaseTransaction,
    e: entity::status_event::ActiveModel,
) -> Result<()> {
    entity::status_event::Entity::insert(e).exec_without_returning(tx).await?;
    Ok(())
}
