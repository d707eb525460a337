//! Eager batching for complaint lists: the resolver that fetched a page looks ahead at the
//! selection and loads every requested history list of all its rows at once — one statement
//! per list, in parallel — before any row is resolved. Rows then resolve them from memory, with
//! no per-row waiting or timers. Directory references resolve from the request's directory
//! snapshot, carried along so no field has to await it.
use crate::store::{self, complaints::Skip, directory::Snapshot};
use crate::{Result, auth::NoteScope};
use async_graphql::Lookahead;
use entity::{assignment, response, status_event};
use sea_orm::DatabaseConnection;
use std::{collections::HashMap, sync::Arc};

/// Which history lists of complaints a selection asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    assignments: bool,
    history: bool,
    responses: bool,
    response_count: bool,
    text: bool,
    address: bool,
    author: bool,
    geo: bool,
}

impl Wants {
    /// The lists selected under a `Complaint` selection.
    pub fn of(node: &Lookahead<'_>) -> Self {
        Wants {
            assignments: node.field("assignments").exists(),
            history: node.field("history").exists(),
            responses: node.field("responses").exists(),
            response_count: node.field("responseCount").exists(),
            text: node.field("text").exists(),
            address: node.field("address").exists(),
            author: node.field("author").exists(),
            geo: node.field("lat").exists() || node.field("lon").exists(),
        }
    }

    /// The heavy columns no selection asked for.
    pub fn skip(self) -> Skip {
        Skip { text: !self.text, address: !self.address, author: !self.author, geo: !self.geo }
    }

    /// Whether the response count is selected.
    pub fn response_count(self) -> bool {
        self.response_count
    }

    /// Lists wanted by either selection.
    pub fn or(self, o: Self) -> Self {
        Wants {
            assignments: self.assignments || o.assignments,
            history: self.history || o.history,
            responses: self.responses || o.responses,
            response_count: self.response_count || o.response_count,
            text: self.text || o.text,
            address: self.address || o.address,
            author: self.author || o.author,
            geo: self.geo || o.geo,
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
    /// Columns the rows were read without.
    pub skipped: Skip,
    /// The directory snapshot the rows' references resolve in (no await per field).
    pub directory: Arc<Snapshot>,
}

async fn maybe<T, F: Future<Output = Result<T>>>(
    want: bool,
    f: impl FnOnce() -> F,
) -> Result<Option<T>> {
    if want { f().await.map(Some) } else { Ok(None) }
}

/// Loads what `wants` asks for, for the complaints `ids`, with the responses `notes` shows.
/// Response counts come from `known_counts` (the page query computes them) or from the
/// responses when those are loaded anyway.
pub async fn load(
    db: &DatabaseConnection,
    ids: &[i64],
    wants: Wants,
    known_counts: Option<HashMap<i64, i64>>,
    skipped: Skip,
    directory: Arc<Snapshot>,
    notes: NoteScope,
) -> Result<Related> {
    if ids.is_empty() {
        return Ok(Related { skipped, directory, ..Related::default() });
    }
    let only_count = wants.response_count && !wants.responses && known_counts.is_none();
    let (assignments, events, responses, counts) = tokio::try_join!(
        maybe(wants.assignments, || store::history::assignments(db, ids)),
        maybe(wants.history, || store::history::status_events(db, ids)),
        maybe(wants.responses, || store::history::responses(db, ids, notes)),
        maybe(only_count, || store::history::response_counts(db, ids, notes)),
    )?;
    let response_counts = match (&responses, counts.or(known_counts)) {
        (_, Some(counts)) => Some(counts),
        (Some(r), None) if wants.response_count => {
            Some(r.iter().map(|(id, list)| (*id, list.len() as i64)).collect())
        }
        _ => None,
    };
    Ok(Related { assignments, events, responses, response_counts, skipped, directory })
}
