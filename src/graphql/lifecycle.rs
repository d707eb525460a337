//! The lifecycle mutations: assign, respond, change status, reject, escalate. Each takes the
//! `expectedVersion` it was read at and returns the complaint as written.
use super::complaint::Complaint;
use super::enums::ComplaintStatus;
use super::prefetch;
use super::{ctx_db, parse_id, request, snapshot};
use crate::error::GqlResult;
use crate::service::Notifier;
use crate::service::lifecycle::{self as changes, By};
use crate::store::complaints::Columns;
use async_graphql::{Context, ID, Object, Result};
use entity::complaint;
use std::sync::Arc;

/// A complaint just written, read back with what the selection asks for (from the primary,
/// so the caller sees its own write).
async fn written(ctx: &Context<'_>, row: complaint::Model) -> Result<Complaint> {
    let req = request(ctx);
    let wants = prefetch::selected(ctx, &[]);
    let directory = snapshot(ctx).await?;
    let db = ctx_db(ctx).write();
    let related =
        prefetch::load(db, &req.principal, &[row.id], wants, None, Columns::ALL, directory)
            .await
            .gql()?;
    Ok(Complaint::new(Arc::new(row), Arc::new(related)))
}

/// The caller, the request's directory snapshot, instant and cache.
async fn by<'a>(ctx: &Context<'a>) -> Result<By<'a>> {
    let req = request(ctx);
    let directory = snapshot(ctx).await?;
    let notifier = ctx.data_unchecked::<Notifier>();
    Ok(By { principal: &req.principal, directory, now: req.now, notifier })
}

/// Root fields of the lifecycle.
#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Routes a complaint to a department (and optionally one of its staff).
    #[graphql(visible = "super::visibility::assign")]
    async fn assign_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        department_id: ID,
        assignee_id: Option<ID>,
        expected_version: i32,
        reason: Option<String>,
    ) -> Result<Complaint> {
        let id = parse_id(&id, "id").gql()?;
        let department = parse_id(&department_id, "departmentId").gql()?;
        let assignee = assignee_id.map(|a| parse_id(&a, "assigneeId")).transpose().gql()?;
        let by = by(ctx).await?;
        let row =
            changes::assign(ctx_db(ctx), &by, id, department, assignee, expected_version, reason)
                .await
                .gql()?;
        written(ctx, row).await
    }

    /// Adds an answer to the citizen (`public: true`) or an internal note.
    #[graphql(visible = "super::visibility::respond")]
    async fn respond_to_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
        public: bool,
        expected_version: i32,
    ) -> Result<Complaint> {
        let id = parse_id(&id, "id").gql()?;
        let by = by(ctx).await?;
        let row =
            changes::respond(ctx_db(ctx), &by, id, &text, public, expected_version).await.gql()?;
        written(ctx, row).await
    }

    /// Moves a complaint to IN_PROGRESS, ANSWERED, RESOLVED or REOPENED.
    #[graphql(visible = "super::visibility::change_status")]
    async fn change_complaint_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: ComplaintStatus,
        expected_version: i32,
        comment: Option<String>,
    ) -> Result<Complaint> {
        let id = parse_id(&id, "id").gql()?;
        let by = by(ctx).await?;
        let row =
            changes::set_status(ctx_db(ctx), &by, id, status.into(), expected_version, comment)
                .await
                .gql()?;
        written(ctx, row).await
    }

    /// Rejects a complaint (spam, duplicate, out of scope) with a reason.
    #[graphql(visible = "super::visibility::reject")]
    async fn reject_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        expected_version: i32,
    ) -> Result<Complaint> {
        let id = parse_id(&id, "id").gql()?;
        let by = by(ctx).await?;
        let row = changes::reject(ctx_db(ctx), &by, id, &reason, expected_version).await.gql()?;
        written(ctx, row).await
    }

    /// Escalates a complaint to the center with a reason.
    #[graphql(visible = "super::visibility::escalate")]
    async fn escalate_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        expected_version: i32,
    ) -> Result<Complaint> {
        let id = parse_id(&id, "id").gql()?;
        let by = by(ctx).await?;
        let row = changes::escalate(ctx_db(ctx), &by, id, &reason, expected_version).await.gql()?;
        written(ctx, row).await
    }
}
