//! Eager batching for complaint lists: the resolver that fetched a page looks ahead at the
//! selection and loads every requested history list of all its rows at once — one statement
//! per list, in parallel — before any row is resolved. Rows then resolve them from memory, with
//! no per-row waiting or timers. Directory references resolve from the request's directory
//! snapshot, carried along so no field has to await it.
use crate::store::{self, complaints::Columns, directory::Snapshot, scope::Scoped};
use crate::{
    Result,
    auth::{NoteScope, Principal},
};
use async_graphql::Lookahead;
use entity::{assignment, complaint::Column as C, response, status_event};
use sea_orm::DatabaseConnection;
use std::{collections::HashMap, sync::Arc};

/// The columns each `Complaint` field reads, besides `id` (every row has it). A field not
/// listed reads only `id`.
const FIELD_COLUMNS: &[(&str, &[C])] = &[
    ("number", &[C::Number]),
    ("source", &[C::Source]),
    ("externalId", &[C::ExternalId]),
    ("category", &[C::Category]),
    ("municipality", &[C::MunicipalityId]),
    ("text", &[C::Text]),
    ("address", &[C::Address]),
    ("lat", &[C::Lat]),
    ("lon", &[C::Lon]),
    ("receivedAt", &[C::ReceivedAt]),
    ("status", &[C::Status]),
    ("priority", &[C::Priority]),
    ("department", &[C::DepartmentId]),
    ("assignee", &[C::AssigneeId]),
    ("firstResponseDueAt", &[C::FirstResponseDueAt]),
    ("resolutionDueAt", &[C::ResolutionDueAt]),
    ("firstResponseAt", &[C::FirstResponseAt]),
    ("resolvedAt", &[C::ResolvedAt]),
    ("isOverdue", &[C::Status, C::FirstResponseAt, C::FirstResponseDueAt, C::ResolutionDueAt]),
    ("isPublic", &[C::IsPublic]),
    ("version", &[C::Version]),
    // The author check compares the current department.
    (
        "author",
        &[C::DepartmentId, C::AuthorName, C::AuthorPhone, C::AuthorEmail, C::AuthorProfileUrl],
    ),
];

/// The columns the `Complaint` field `field` reads besides `id`; `None` for a field the
/// table does not list (it reads `id` at most).
pub fn columns_of(field: &str) -> Option<Columns> {
    FIELD_COLUMNS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, columns)| columns.iter().copied().collect())
}

/// Which columns and history lists of complaints a selection asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    assignments: bool,
    history: bool,
    responses: bool,
    response_count: bool,
    columns: Columns,
}

impl Wants {
    /// What a `Complaint` selection reads.
    pub fn of(node: &Lookahead<'_>) -> Self {
        let columns = FIELD_COLUMNS
            .iter()
            .filter(|(name, _)| node.field(name).exists())
            .flat_map(|(_, columns)| columns.iter().copied())
            .collect();
        Wants {
            assignments: node.field("assignments").exists(),
            history: node.field("history").exists(),
            responses: node.field("responses").exists(),
            response_count: node.field("responseCount").exists(),
            columns,
        }
    }

    /// The columns selected fields read.
    pub fn columns(self) -> Columns {
        self.columns
    }

    /// Whether the response count is selected.
    pub fn response_count(self) -> bool {
        self.response_count
    }

    /// What either selection reads.
    pub fn or(self, o: Self) -> Self {
        Wants {
            assignments: self.assignments || o.assignments,
            history: self.history || o.history,
            responses: self.responses || o.responses,
            response_count: self.response_count || o.response_count,
            columns: self.columns.union(o.columns),
        }
    }
}

/// History lists of a set of complaints; a list nobody selected is `None`.
#[derive(Debug, Default)]
pub struct Related {
    /// Assignments by complaint.
    pub assignments: Option<HashMap<i64, Vec<assignment::Model>>>,
    /// Status events by complaint.
    pub events: Option<HashMap<i64, Vec<status_event::Model>>>,
    /// Responses by complaint.
    pub responses: Option<HashMap<i64, Vec<response::Model>>>,
    /// Response counts by complaint (absent key: zero).
    pub response_counts: Option<HashMap<i64, i64>>,
    /// Columns the rows were read with (the others hold placeholders).
    pub loaded: Columns,
    /// The directory snapshot the rows' references resolve in (no await per field).
    pub directory: Arc<Snapshot>,
}

async fn maybe<T, F: Future<Output = Result<T>>>(
    want: bool,
    f: impl FnOnce() -> F,
) -> Result<Option<T>> {
    if want { f().await.map(Some) } else { Ok(None) }
}

/// Loads what `wants` asks for, for those of the complaints `ids` in `principal`'s scope,
/// with the responses it may read.
/// Response counts come from `known_counts` (the page query computes them) or from the
/// responses when those are loaded anyway.
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    wants: Wants,
    known_counts: Option<HashMap<i64, i64>>,
    loaded: Columns,
    directory: Arc<Snapshot>,
) -> Result<Related> {
    if ids.is_empty() {
        return Ok(Related { loaded, directory, ..Related::default() });
    }
    let (scoped, notes) = (Scoped::of(principal), NoteScope::of(principal));
    let only_count = wants.response_count && !wants.responses && known_counts.is_none();
    let (assignments, events, responses, counts) = tokio::try_join!(
        maybe(wants.assignments, || store::history::assignments(db, scoped, ids)),
        maybe(wants.history, || store::history::status_events(db, scoped, ids)),
        maybe(wants.responses, || store::history::responses(db, scoped, ids, notes)),
        maybe(only_count, || store::history::response_counts(db, scoped, ids, notes)),
    )?;
    let response_counts = match (&responses, counts.or(known_counts)) {
        (_, Some(counts)) => Some(counts),
        (Some(r), None) if wants.response_count => {
            Some(r.iter().map(|(id, list)| (*id, list.len() as i64)).collect())
        }
        _ => None,
    };
    Ok(Related { assignments, events, responses, response_counts, loaded, directory })
}
