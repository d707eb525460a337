//! Per-request DataLoaders for complaint histories that were not prefetched (see `prefetch`):
//! lookups are batched into one query per kind. Built per request so no cache is shared between callers.
use crate::{Error, store};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{assignment, response, status_event};
use sea_orm::DatabaseConnection;
use std::{collections::HashMap, sync::Arc};

/// Loader errors are shared by every waiting field, hence the Arc.
pub type LoadError = Arc<Error>;

macro_rules! loader {
    ($(#[$doc:meta])* $name:ident, $key:ty => $value:ty, $fetch:path) => {
        $(#[$doc])*
        pub struct $name(DatabaseConnection);

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                $fetch(&self.0, keys).await.map_err(Arc::new)
            }
        }
    };
}

loader!(
    /// Assignments by complaint id.
    AssignmentsLoader, i64 => Vec<assignment::Model>, store::history::assignments
);
loader!(
    /// Status events by complaint id.
    StatusEventsLoader, i64 => Vec<status_event::Model>, store::history::status_events
);
loader!(
    /// Responses by complaint id.
    ResponsesLoader, i64 => Vec<response::Model>, store::history::responses
);
loader!(
    /// Response counts by complaint id.
    ResponseCountLoader, i64 => i64, store::history::response_counts
);

/// A loader with a per-request cache, so a key asked for twice is fetched once.
type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    /// Assignments by complaint.
    pub assignments: Cached<AssignmentsLoader>,
    /// Status events by complaint.
    pub status_events: Cached<StatusEventsLoader>,
    /// Responses by complaint.
    pub responses: Cached<ResponsesLoader>,
    /// Response counts by complaint.
    pub response_count: Cached<ResponseCountLoader>,
}

impl Loaders {
    /// Fresh loaders reading from `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        fn cached<L>(loader: L) -> Cached<L> {
            DataLoader::with_cache(
                loader,
                |fut| {
                    tokio::spawn(fut);
                },
                HashMapCache::default(),
            )
        }
        Loaders {
            assignments: cached(AssignmentsLoader(db.clone())),
            status_events: cached(StatusEventsLoader(db.clone())),
            responses: cached(ResponsesLoader(db.clone())),
            response_count: cached(ResponseCountLoader(db.clone())),
        }
    }
}
