//! The use-cases: every write the gateway makes — lifecycle changes, ingestion (GraphQL,
//! Open311, CSV import), routing rules. A resolver or handler converts its arguments and calls
//! one function here; the policy check (through the roles matrix), validation and the
//! transaction happen inside, and every committed write ends in [`committed`], the one place
//! that tells the rest of the gateway what changed.
pub mod import;
pub(crate) mod ingest;
pub(crate) mod lifecycle;
pub(crate) mod routing;

use crate::cache::{Cache, Topic};

/// What a committed write changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Complaints (and the rows hanging off them).
    Complaints,
    /// Routing rules.
    Routing,
}

/// After a commit: every replica's cached reads of what changed become stale (the next read
/// recomputes). The one place a write is announced.
pub async fn committed(cache: &Cache, changed: Changed) {
    let topic = match changed {
        Changed::Complaints => Topic::Complaints,
        Changed::Routing => Topic::Routing,
    };
    cache.bump(topic).await;
}
