//! The root types and the types only one root field reaches: the caller, the audit trail,
//! routing rules, KPIs and ingest results.
use super::spec::{
    Cache::{Never, Shared},
    Field, Object, any_of, everyone, kpis,
};
use crate::auth::policy::{Access, Action, RolePolicy};

/// `Query`. Its fields answer from the complaints' generation and the caller's scope, except
/// the caller's own identity, the audit trail (written by reads) and the routing rules (a
/// generation of their own).
pub(crate) static QUERY: Object<()> = Object {
    name: "Query",
    fields: &[
        Field::new("complaint", everyone, Shared),
        Field::new("complaints", everyone, Shared),
        Field::new("municipalities", everyone, Shared),
        Field::new("departments", everyone, Shared),
        Field::new("department", everyone, Shared),
        Field::new("staff", everyone, Shared),
        Field::new("me", everyone, Never),
        Field::new("auditLog", audit_log, Never),
        Field::new("routingRules", routing_rules, Never),
        Field::new("kpis", kpis, Shared),
        Field::new("connectors", connectors, Never),
        // The subgraph's fields (CUR_FEDERATION): entities pass every rule of their types.
        Field::new("_service", everyone, Never),
        Field::new("_entities", everyone, Never),
    ],
};

/// `_Service`: the subgraph SDL.
pub(crate) static SERVICE: Object<()> =
    Object { name: "_Service", fields: &[Field::new("sdl", everyone, Never)] };

fn connectors(p: &RolePolicy) -> Access {
    p.connectors
}

fn control_connectors(p: &RolePolicy) -> Access {
    any_of(p, &[Action::ControlConnectors])
}

fn audit_log(p: &RolePolicy) -> Access {
    p.audit_log
}

fn routing_rules(p: &RolePolicy) -> Access {
    p.routing_rules
}

fn ingest(p: &RolePolicy) -> Access {
    any_of(p, &[Action::Ingest])
}

/// `Mutation`: a mutation no action of the role can use is absent from its schema.
pub(crate) static MUTATION: Object<()> = Object {
    name: "Mutation",
    fields: &[
        Field::new("ingestComplaints", ingest, Never),
        Field::new("assignComplaint", |p| any_of(p, &[Action::Assign, Action::Reassign]), Never),
        Field::new("respondToComplaint", |p| any_of(p, &[Action::Respond]), Never),
        Field::new(
            "changeComplaintStatus",
            |p| any_of(p, &[Action::Progress, Action::Resolve, Action::Reopen]),
            Never,
        ),
        Field::new("rejectComplaint", |p| any_of(p, &[Action::Reject]), Never),
        Field::new("escalateComplaint", |p| any_of(p, &[Action::Escalate]), Never),
        Field::new("setRoutingRule", |p| any_of(p, &[Action::EditRouting]), Never),
        Field::new("deleteRoutingRule", |p| any_of(p, &[Action::EditRouting]), Never),
        Field::new("revokeSessions", |p| any_of(p, &[Action::RevokeSessions]), Never),
        Field::new("pauseConnector", control_connectors, Never),
        Field::new("resumeConnector", control_connectors, Never),
        Field::new("runConnectorNow", control_connectors, Never),
    ],
};

/// `Connector`: the center's own plumbing, never cached (its state changes without a write
/// to complaints).
pub(crate) static CONNECTOR: Object<()> = Object {
    name: "Connector",
    fields: &[
        Field::new("name", connectors, Never),
        Field::new("kind", connectors, Never),
        Field::new("state", connectors, Never),
        Field::new("holder", connectors, Never),
        Field::new("lastRunAt", connectors, Never),
        Field::new("lastSuccessAt", connectors, Never),
        Field::new("lastError", connectors, Never),
        Field::new("lastErrorAt", connectors, Never),
        Field::new("failures", connectors, Never),
        Field::new("nextAttemptAt", connectors, Never),
        Field::new("checkpoint", connectors, Never),
        Field::new("lastHour", connectors, Never),
        Field::new("lastDay", connectors, Never),
    ],
};

/// `ConnectorCounts`.
pub(crate) static CONNECTOR_COUNTS: Object<()> = Object {
    name: "ConnectorCounts",
    fields: &[
        Field::new("created", connectors, Never),
        Field::new("duplicates", connectors, Never),
        Field::new("rejected", connectors, Never),
    ],
};

/// `Subscription`: streams are never cached; an event's payload is answered per group of
/// subscribers with the same scope (`live/`).
pub(crate) static SUBSCRIPTION: Object<()> = Object {
    name: "Subscription",
    fields: &[
        Field::new("complaintEvents", everyone, Never),
        Field::new("kpiUpdates", kpis, Never),
    ],
};

/// `ComplaintEvent`.
pub(crate) static COMPLAINT_EVENT: Object<()> = Object {
    name: "ComplaintEvent",
    fields: &[
        Field::new("cursor", everyone, Never),
        Field::new("kind", everyone, Never),
        Field::new("at", everyone, Never),
        Field::new("complaint", everyone, Never),
    ],
};

/// `Viewer`: the caller's own identity.
pub(crate) static VIEWER: Object<()> = Object {
    name: "Viewer",
    fields: &[
        Field::new("sub", everyone, Never),
        Field::new("role", everyone, Never),
        Field::new("departmentId", everyone, Never),
        Field::new("municipalityId", everyone, Never),
    ],
};

/// `AuditConnection`.
pub(crate) static AUDIT_CONNECTION: Object<()> = Object {
    name: "AuditConnection",
    fields: &[
        Field::new("edges", audit_log, Never),
        Field::new("nodes", audit_log, Never),
        Field::new("pageInfo", audit_log, Never),
        Field::new("totalCount", audit_log, Never),
    ],
};

/// `AuditEdge`.
pub(crate) static AUDIT_EDGE: Object<()> = Object {
    name: "AuditEdge",
    fields: &[Field::new("cursor", audit_log, Never), Field::new("node", audit_log, Never)],
};

/// `AuditRecord`.
pub(crate) static AUDIT_RECORD: Object<()> = Object {
    name: "AuditRecord",
    fields: &[
        Field::new("id", audit_log, Never),
        Field::new("sub", audit_log, Never),
        Field::new("role", audit_log, Never),
        Field::new("complaintId", audit_log, Never),
        Field::new("operation", audit_log, Never),
        Field::new("at", audit_log, Never),
    ],
};

/// `RoutingRule`.
pub(crate) static ROUTING_RULE: Object<()> = Object {
    name: "RoutingRule",
    fields: &[
        Field::new("id", routing_rules, Never),
        Field::new("category", routing_rules, Never),
        Field::new("municipality", routing_rules, Never),
        Field::new("department", routing_rules, Never),
        Field::new("updatedAt", routing_rules, Never),
    ],
};

/// `KpiRow`: computed from the complaints, so it follows their generation.
pub(crate) static KPI_ROW: Object<()> = Object {
    name: "KpiRow",
    fields: &[
        Field::new("key", kpis, Shared),
        Field::new("label", kpis, Shared),
        Field::new("received", kpis, Shared),
        Field::new("open", kpis, Shared),
        Field::new("overdue", kpis, Shared),
        Field::new("slaCompliance", kpis, Shared),
        Field::new("firstResponse", kpis, Shared),
        Field::new("resolution", kpis, Shared),
        Field::new("reopenedShare", kpis, Shared),
    ],
};

/// `DurationStats`.
pub(crate) static DURATION_STATS: Object<()> = Object {
    name: "DurationStats",
    fields: &[
        Field::new("avg", kpis, Shared),
        Field::new("p50", kpis, Shared),
        Field::new("p90", kpis, Shared),
    ],
};

/// `IngestResult`: a mutation's answer.
pub(crate) static INGEST_RESULT: Object<()> = Object {
    name: "IngestResult",
    fields: &[
        Field::new("items", ingest, Never),
        Field::new("created", ingest, Never),
        Field::new("duplicates", ingest, Never),
        Field::new("rejected", ingest, Never),
    ],
};

/// `IngestItemResult`.
pub(crate) static INGEST_ITEM_RESULT: Object<()> = Object {
    name: "IngestItemResult",
    fields: &[
        Field::new("status", ingest, Never),
        Field::new("externalId", ingest, Never),
        Field::new("complaintId", ingest, Never),
        Field::new("number", ingest, Never),
        Field::new("reason", ingest, Never),
        Field::new("complaint", ingest, Never),
    ],
};
