//! Complaints and what hangs off them: `Complaint`, its connection and edge, the author, and
//! the history types.
use super::spec::{
    Cache::{Never, Shared},
    Eval, Field, Object, Reads,
    Serve::{Complaint as Node, Department, Municipality, Staff, Value as V},
    everyone, id, opt, scalar, string,
};
use crate::error::GqlResult;
use crate::graphql::{
    complaint_row::{Complaint, ComplaintEdge},
    enums, shown,
};
use async_graphql::{Value, resolver_utils::enum_value};
use entity::complaint::{Column as C, Model};

/// A text as the caller may see it.
fn text(t: &str, e: &Eval<'_>) -> Value {
    Value::String(shown(e.masks_texts, t).into_owned())
}

/// `Complaint`. A field whose `serve` is `Executor` makes a page that selects it go through
/// async-graphql's executor; `tests/api/compiled.rs` compares both on every served field.
pub(crate) static COMPLAINT: Object<Complaint> = Object {
    name: "Complaint",
    fields: &[
        Field::new("id", everyone, Shared).serve(V(|c, _| id(c.row().id))),
        Field::new("number", everyone, Shared)
            .reads(Reads::columns(&[C::Number]))
            .serve(V(|c, _| string(&c.row().number))),
        Field::new("source", everyone, Shared)
            .reads(Reads::columns(&[C::Source]))
            .serve(V(|c, _| enum_value(enums::Source::from(c.row().source)))),
        Field::new("externalId", |p| p.external_ids, Shared)
            .reads(Reads::columns(&[C::ExternalId]))
            .serve(V(|c, _| string(&c.row().external_id))),
        Field::new("category", everyone, Shared)
            .reads(Reads::columns(&[C::Category]))
            .serve(V(|c, _| enum_value(enums::Category::from(c.row().category)))),
        Field::new("municipality", everyone, Shared)
            .reads(Reads::columns(&[C::MunicipalityId]))
            .serve(Municipality(|c| Some(c.row().municipality_id))),
        Field::new("text", |p| p.texts, Shared)
            .reads(Reads::columns(&[C::Text]))
            .serve(V(|c, e| text(&c.row().text, e))),
        Field::new("address", |p| p.texts, Shared)
            .reads(Reads::columns(&[C::Address]))
            .serve(V(|c, e| c.row().address.as_deref().map_or(Value::Null, |a| text(a, e)))),
        Field::new("lat", everyone, Shared)
            .reads(Reads::columns(&[C::Lat]))
            .serve(V(|c, _| opt(c.row().lat.as_ref()))),
        Field::new("lon", everyone, Shared)
            .reads(Reads::columns(&[C::Lon]))
            .serve(V(|c, _| opt(c.row().lon.as_ref()))),
        Field::new("receivedAt", everyone, Shared)
            .reads(Reads::columns(&[C::ReceivedAt]))
            .serve(V(|c, _| scalar(&c.row().received_at))),
        Field::new("status", everyone, Shared)
            .reads(Reads::columns(&[C::Status]))
            .serve(V(|c, _| enum_value(enums::ComplaintStatus::from(c.row().status)))),
        Field::new("priority", everyone, Shared)
            .reads(Reads::columns(&[C::Priority]))
            .serve(V(|c, _| enum_value(enums::Priority::from(c.row().priority)))),
        Field::new("department", everyone, Shared)
            .reads(Reads::columns(&[C::DepartmentId]))
            .serve(Department(|c| c.row().department_id)),
        Field::new("assignee", everyone, Shared)
            .reads(Reads::columns(&[C::AssigneeId]))
            .serve(Staff(|c| c.row().assignee_id)),
        Field::new("firstResponseDueAt", everyone, Shared)
            .reads(Reads::columns(&[C::FirstResponseDueAt]))
            .serve(V(|c, _| scalar(&c.row().first_response_due_at))),
        Field::new("resolutionDueAt", everyone, Shared)
            .reads(Reads::columns(&[C::ResolutionDueAt]))
            .serve(V(|c, _| scalar(&c.row().resolution_due_at))),
        Field::new("firstResponseAt", everyone, Shared)
            .reads(Reads::columns(&[C::FirstResponseAt]))
            .serve(V(|c, _| opt(c.row().first_response_at.as_ref()))),
        Field::new("resolvedAt", everyone, Shared)
            .reads(Reads::columns(&[C::ResolvedAt]))
            .serve(V(|c, _| opt(c.row().resolved_at.as_ref()))),
        Field::new("isOverdue", everyone, Shared)
            .reads(Reads::columns(&[
                C::Status,
                C::FirstResponseAt,
                C::FirstResponseDueAt,
                C::ResolutionDueAt,
            ]))
            .serve(V(|c, e| Value::Boolean(c.is_overdue_at(e.now)))),
        Field::new("isPublic", everyone, Shared)
            .reads(Reads::columns(&[C::IsPublic]))
            .serve(V(|c, _| Value::Boolean(c.row().is_public))),
        Field::new("version", everyone, Shared)
            .reads(Reads::columns(&[C::Version]))
            .serve(V(|c, _| scalar(&c.row().version))),
        // Every read is audited, so no answer holding it is shared; the check compares the
        // current department, so it reads that too.
        Field::new("author", |p| p.author, Never).reads(Reads::columns(&[
            C::DepartmentId,
            C::AuthorName,
            C::AuthorPhone,
            C::AuthorEmail,
            C::AuthorProfileUrl,
        ])),
        Field::new("assignments", everyone, Shared)
            .reads(Reads { assignments: true, ..Reads::NOTHING }),
        Field::new("history", everyone, Shared).reads(Reads { history: true, ..Reads::NOTHING }),
        Field::new("responses", everyone, Shared)
            .reads(Reads { responses: true, ..Reads::NOTHING }),
        // The center's plumbing: a delivery's state changes without a change to complaints.
        Field::new("deliveries", |p| p.connectors, Never)
            .reads(Reads { deliveries: true, ..Reads::NOTHING }),
        Field::new("responseCount", everyone, Shared)
            .reads(Reads { response_count: true, ..Reads::NOTHING })
            .serve(V(|c, _| {
                let counts = c.related().response_counts.as_ref();
                scalar(&counts.and_then(|m| m.get(&c.row().id)).copied().unwrap_or(0))
            })),
    ],
};

impl Complaint {
    /// The row, for the resolver of `field`; an error when its page did not read a column
    /// `field` needs (a selection walk that missed it) or `COMPLAINT` lacks `field` — better
    /// than answering with a placeholder.
    pub(crate) fn read(&self, field: &str) -> async_graphql::Result<&Model> {
        match COMPLAINT.field(field) {
            Some(f) if self.related().loaded.covers(f.reads.columns) => Ok(self.row()),
            Some(_) => {
                Err(crate::Error::Internal(format!("`{field}` was not loaded for this page"))).gql()
            }
            None => Err(crate::Error::Internal(format!("`{field}` is not registered"))).gql(),
        }
    }
}

/// `Delivery`: an answer on its way back to the complaint's source.
pub(crate) static DELIVERY: Object<()> = Object {
    name: "Delivery",
    fields: &[
        Field::new("target", |p| p.connectors, Never),
        Field::new("event", |p| p.connectors, Never),
        Field::new("state", |p| p.connectors, Never),
        Field::new("attempts", |p| p.connectors, Never),
        Field::new("lastError", |p| p.connectors, Never),
        Field::new("createdAt", |p| p.connectors, Never),
        Field::new("deliveredAt", |p| p.connectors, Never),
    ],
};

/// `ComplaintEdge`.
pub(crate) static COMPLAINT_EDGE: Object<ComplaintEdge> = Object {
    name: "ComplaintEdge",
    fields: &[
        Field::new("cursor", everyone, Shared).serve(V(|e, _| Value::String(e.cursor_string()))),
        Field::new("node", everyone, Shared).serve(Node(ComplaintEdge::complaint)),
    ],
};

/// `ComplaintConnection` (its lists are built from plans by `compiled::Rows` themselves).
pub(crate) static COMPLAINT_CONNECTION: Object<()> = Object {
    name: "ComplaintConnection",
    fields: &[
        Field::new("edges", everyone, Shared),
        Field::new("nodes", everyone, Shared),
        Field::new("pageInfo", everyone, Shared),
        Field::new("totalCount", everyone, Shared),
    ],
};

/// `PageInfo`.
pub(crate) static PAGE_INFO: Object<()> = Object {
    name: "PageInfo",
    fields: &[
        Field::new("hasNextPage", everyone, Shared),
        Field::new("hasPreviousPage", everyone, Shared),
        Field::new("startCursor", everyone, Shared),
        Field::new("endCursor", everyone, Shared),
    ],
};

/// `Author` (personal data: reached only through `Complaint.author`).
pub(crate) static AUTHOR: Object<()> = Object {
    name: "Author",
    fields: &[
        Field::new("name", |p| p.author, Never),
        Field::new("phone", |p| p.author, Never),
        Field::new("email", |p| p.author, Never),
        Field::new("profileUrl", |p| p.author, Never),
    ],
};

/// `Assignment`. Officials' logins follow the caller's department or territory, which the
/// cache key's scope holds.
pub(crate) static ASSIGNMENT: Object<()> = Object {
    name: "Assignment",
    fields: &[
        Field::new("id", everyone, Shared),
        Field::new("department", everyone, Shared),
        Field::new("assignee", everyone, Shared),
        Field::new("assignedBy", |p| p.officials, Shared),
        Field::new("actingBody", everyone, Shared),
        Field::new("assignedAt", everyone, Shared),
        Field::new("reason", |p| p.texts, Shared),
    ],
};

/// `StatusEvent`.
pub(crate) static STATUS_EVENT: Object<()> = Object {
    name: "StatusEvent",
    fields: &[
        Field::new("id", everyone, Shared),
        Field::new("from", everyone, Shared),
        Field::new("to", everyone, Shared),
        Field::new("actor", |p| p.officials, Shared),
        Field::new("actingBody", everyone, Shared),
        Field::new("comment", |p| p.texts, Shared),
        Field::new("at", everyone, Shared),
    ],
};

/// `Response` (which of them a caller reads follows its department, in the key's scope).
pub(crate) static RESPONSE: Object<()> = Object {
    name: "Response",
    fields: &[
        Field::new("id", everyone, Shared),
        Field::new("text", |p| p.texts, Shared),
        Field::new("isPublic", everyone, Shared),
        Field::new("at", everyone, Shared),
        Field::new("department", everyone, Shared),
        Field::new("staff", everyone, Shared),
    ],
};
