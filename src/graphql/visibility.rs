//! Introspection visibility of role-dependent fields, read from the access policy: a field the
//! role may never see is absent from its schema (the guard rejects it at validation too).
//! Types reachable only through hidden fields are hidden with them; a test compares every
//! role's introspection with the policy.
use super::RequestCtx;
use super::fields;
use crate::auth::policy::Access;
use async_graphql::Context;

fn allowed(ctx: &Context<'_>, type_name: &str, field: &str) -> bool {
    // No request context means no caller to show anything to.
    ctx.data_opt::<RequestCtx>()
        .is_some_and(|r| fields::access(r.principal.role, type_name, field) != Access::Deny)
}

/// `Complaint.author` and the `Author` type.
pub(crate) fn complaint_author(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Complaint", "author")
}

/// `Complaint.externalId`.
pub(crate) fn complaint_external_id(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Complaint", "externalId")
}

/// `Staff.phone` and `Staff.email`.
pub(crate) fn staff_contacts(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Staff", "phone")
}

/// `Query.auditLog` and its types.
pub(crate) fn audit_log(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Query", "auditLog")
}

/// `Query.routingRules` and its type.
pub(crate) fn routing_rules(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Query", "routingRules")
}

/// `Query.connectors` and its types.
pub(crate) fn connectors(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Query", "connectors")
}

/// `pauseConnector`, `resumeConnector` and `runConnectorNow`.
pub(crate) fn control_connectors(ctx: &Context<'_>) -> bool {
    mutation(ctx, "pauseConnector")
}

/// `_service`, `_entities` and their types: only on a gateway serving as a subgraph.
pub(crate) fn federation(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<super::federation::Federation>().is_some_and(|f| f.0)
        && allowed(ctx, "Query", "_entities")
}

/// `Query.kpis`.
pub(crate) fn kpis(ctx: &Context<'_>) -> bool {
    allowed(ctx, "Query", "kpis")
}

/// The `Mutation` root: hidden from a role that may run no mutation.
pub(crate) fn mutation_root(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<RequestCtx>().is_some_and(|r| fields::any_visible(r.principal.role, "Mutation"))
}

/// The `Subscription` root: hidden from a role that may subscribe to nothing.
pub(crate) fn subscription_root(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<RequestCtx>()
        .is_some_and(|r| fields::any_visible(r.principal.role, "Subscription"))
}

/// A mutation field, by name.
fn mutation(ctx: &Context<'_>, field: &str) -> bool {
    allowed(ctx, "Mutation", field)
}

/// `ingestComplaints`.
pub(crate) fn ingest(ctx: &Context<'_>) -> bool {
    mutation(ctx, "ingestComplaints")
}

/// `assignComplaint`.
pub(crate) fn assign(ctx: &Context<'_>) -> bool {
    mutation(ctx, "assignComplaint")
}

/// `respondToComplaint`.
pub(crate) fn respond(ctx: &Context<'_>) -> bool {
    mutation(ctx, "respondToComplaint")
}

/// `changeComplaintStatus`.
pub(crate) fn change_status(ctx: &Context<'_>) -> bool {
    mutation(ctx, "changeComplaintStatus")
}

/// `rejectComplaint`.
pub(crate) fn reject(ctx: &Context<'_>) -> bool {
    mutation(ctx, "rejectComplaint")
}

/// `escalateComplaint`.
pub(crate) fn escalate(ctx: &Context<'_>) -> bool {
    mutation(ctx, "escalateComplaint")
}

/// `revokeSessions`.
pub(crate) fn revoke_sessions(ctx: &Context<'_>) -> bool {
    mutation(ctx, "revokeSessions")
}

/// `setRoutingRule` and `deleteRoutingRule`.
pub(crate) fn edit_routing(ctx: &Context<'_>) -> bool {
    mutation(ctx, "setRoutingRule")
}
