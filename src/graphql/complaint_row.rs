//! The complaint values that the resolvers (`complaint.rs`) and the compiled page plans
//! (`compiled.rs`) both build answers from: a row with what its page loaded, and a
//! connection's edge.
use super::prefetch::{self, Related};
use crate::domain::sla;
use crate::error::GqlResult;
use crate::store::{self, pagination::Order};
use async_graphql::Result;
use chrono::{DateTime, Utc};
use entity::complaint;
use std::sync::Arc;

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

    /// The row, for `field`; an error when its page did not read a column `field` needs (a
    /// look-ahead that missed it) or the field-to-column table lacks `field` — better than
    /// answering with a placeholder.
    pub(super) fn read(&self, field: &str) -> Result<&complaint::Model> {
        match prefetch::columns_of(field) {
            Some(needs) if self.related.loaded.covers(needs) => Ok(&self.row),
            Some(_) => {
                Err(crate::Error::Internal(format!("`{field}` was not loaded for this page"))).gql()
            }
            None => Err(crate::Error::Internal(format!("`{field}` lists no columns"))).gql(),
        }
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
