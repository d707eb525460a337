//! The facts KPIs are computed from: one narrow row per complaint received in the window,
//! within the caller's KPI scope and the filter.
use super::complaints::ComplaintFilter;
use crate::{Result, auth::RowScope, domain::kpi::Fact};
use chrono::{DateTime, Utc};
use entity::{
    Category, ComplaintStatus, Source,
    complaint::{self, Column as C},
};
use sea_orm::{
    DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, sea_query::Expr,
};

#[derive(Debug, FromQueryResult)]
struct Row {
    department_id: Option<i32>,
    municipality_id: i32,
    category: Category,
    source: Source,
    received_at: DateTime<Utc>,
    status: ComplaintStatus,
    first_response_at: Option<DateTime<Utc>>,
    first_response_due_at: DateTime<Utc>,
    resolution_due_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    reopened: bool,
}

/// Facts of the complaints matching `filter` (its received window, municipality, department,
/// category, source), evaluated at `now`.
pub async fn facts(
    db: &DatabaseConnection,
    filter: &ComplaintFilter,
    now: DateTime<Utc>,
) -> Result<Vec<Fact>> {
    let mut query = complaint::Entity::find().select_only().columns([
        C::DepartmentId,
        C::MunicipalityId,
        C::Category,
        C::Source,
        C::ReceivedAt,
        C::Status,
        C::FirstResponseAt,
        C::FirstResponseDueAt,
        C::ResolutionDueAt,
        C::ResolvedAt,
    ]);
    // `IN (subquery)` is evaluated once and hashed (Postgres: a hashed SubPlan over the
    // partial index of REOPENED events); a correlated EXISTS would probe every complaint's
    // history — 30x slower over a year of 1M complaints.
    query = query.column_as(
        Expr::cust(
            "(complaint.id IN (SELECT complaint_id FROM status_event WHERE to_status = 'REOPENED'))",
        ),
        "reopened",
    );
    filter.validate()?;
    query = query.filter(filter.condition(RowScope::All, now));
    let rows = query.into_model::<Row>().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| Fact {
            department_id: r.department_id,
            municipality_id: r.municipality_id,
            category: sea_orm::ActiveEnum::to_value(&r.category),
            source: sea_orm::ActiveEnum::to_value(&r.source),
            received_at: r.received_at,
            open: r.status.is_open(),
            first_response_at: r.first_response_at,
            first_response_due_at: r.first_response_due_at,
            resolution_due_at: r.resolution_due_at,
            resolved_at: r.resolved_at,
            reopened: r.reopened,
        })
        .collect())
}
