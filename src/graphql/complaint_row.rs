//! The complaint values that the resolvers (`complaint.rs`) and the compiled page plans
//! (`compiled.rs`) both build answers from: a row with what its page loaded (`prefetch.rs`
//! loads it), and a connection's edge.
use crate::domain::sla;
use crate::store::{self, complaints::Columns, directory::Snapshot, pagination::Order};
use chrono::{DateTime, Utc};
use entity::{assignment, complaint, response, status_event};
use std::{collections::HashMap, sync::Arc};

/// A citizen's complaint or suggestion, with the relations prefetched for its page.
pub struct Complaint {
    pub(super) row: Arc<complaint::Model>,
    pub(super) related: Arc<Related>,
}

impl Complaint {
    /// A complaint whose history lists resolve from `related`.
    pub fn new(row: Arc<complaint::Model>, related: Arc<Related>) -> Self {
        Complaint { row, related }
    }

    /// The row.
    pub(crate) fn row(&self) -> &complaint::Model {
        &self.row
    }

    /// What was loaded with its page.
    pub(crate) fn related(&self) -> &Related {
        &self.related
    }

    /// Open and past a deadline at `now`.
    pub(crate) fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        let c = &self.row;
        sla::is_overdue(
            c.status.is_open(),
            c.first_response_at.is_some(),
            c.first_response_due_at,
            c.resolution_due_at,
            now,
        )
    }
}

/// One row of a complaint connection.
pub struct ComplaintEdge {
    pub(super) node: Arc<complaint::Model>,
    pub(super) order: Order,
    pub(super) related: Arc<Related>,
}

impl ComplaintEdge {
    /// The opaque cursor of this row.
    pub(crate) fn cursor_string(&self) -> String {
        store::complaints::cursor_of(&self.node, self.order).encode(self.order)
    }

    /// The complaint of this row.
    pub(crate) fn complaint(&self) -> Complaint {
        Complaint::new(self.node.clone(), self.related.clone())
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
    /// Deliveries back to the source by complaint.
    pub deliveries: Option<HashMap<i64, Vec<entity::delivery::Model>>>,
    /// Response counts by complaint (absent key: zero).
    pub response_counts: Option<HashMap<i64, i64>>,
    /// Columns the rows were read with (the others hold placeholders).
    pub loaded: Columns,
    /// The directory snapshot the rows' references resolve in (no await per field).
    pub directory: Arc<Snapshot>,
}
