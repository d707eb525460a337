//! Per-request DataLoaders: every nested lookup of one request is batched into one query per
//! kind. Built per request so no cache is shared between callers.
use crate::{Error, store};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{assignment, department, municipality, response, staff, status_event};
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
    /// Municipality by id.
    MunicipalityLoader, i32 => municipality::Model, store::directory::municipalities_by_id
);
loader!(
    /// Department by id.
    DepartmentLoader, i32 => department::Model, store::directory::departments_by_id
);
loader!(
    /// Staff member by id.
    StaffLoader, i64 => staff::Model, store::directory::staff_by_id
);
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

/// A loader with a per-request cache, so a department seen at two depths is fetched once.
type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    /// Municipality by id.
    pub municipality: Cached<MunicipalityLoader>,
    /// Department by id.
    pub department: Cached<DepartmentLoader>,
    /// Staff by id.
    pub staff: Cached<StaffLoader>,
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
            municipality: cached(MunicipalityLoader(db.clone())),
            department: cached(DepartmentLoader(db.clone())),
            staff: cached(StaffLoader(db.clone())),
            assignments: cached(AssignmentsLoader(db.clone())),
            status_events: cached(StatusEventsLoader(db.clone())),
            responses: cached(ResponsesLoader(db.clone())),
            response_count: cached(ResponseCountLoader(db.clone())),
        }
    }
}
