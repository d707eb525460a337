//! The use-cases: every write the gateway makes — lifecycle changes, ingestion (GraphQL,
//! Open311, CSV import), routing rules. A resolver or handler converts its arguments and calls
//! one function here; the policy check (through the roles matrix), validation and the
//! transaction happen inside, and every committed write ends in [`committed`], the one place
//! that tells the rest of the gateway what changed.
pub(crate) mod connectors;
pub(crate) mod deadlines;
pub mod import;
pub(crate) mod ingest;
pub(crate) mod lifecycle;
pub(crate) mod routing;
pub(crate) mod sessions;

use crate::cache::{Cache, Topic};
use crate::events::{Bus, Signal};

/// What a committed write changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Complaints (and the rows hanging off them).
    Complaints,
    /// Routing rules.
    Routing,
}

/// Whom a committed write is announced to: the read cache and the event bus.
#[derive(Clone)]
pub struct Notifier {
    /// Cached reads of what changed become stale.
    pub cache: Cache,
    /// Subscribers on every replica wake and read the outbox.
    pub bus: Bus,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("cache", &self.cache.backend_name())
            .finish_non_exhaustive()
    }
}

/// After a commit: every replica's cached reads of what changed become stale (the next read
/// recomputes), and a change to complaints — whose events the transaction wrote to the
/// outbox — wakes every replica's subscriptions. The one place a write is announced.
pub async fn committed(notifier: &Notifier, changed: Changed) {
    let topic = match changed {
        Changed::Complaints => Topic::Complaints,
        Changed::Routing => Topic::Routing,
    };
    notifier.cache.bump(topic).await;
    if changed == Changed::Complaints {
        notifier.bus.publish(Signal::Events).await;
    }
}
