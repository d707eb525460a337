//! Per-request DataLoaders: every nested lookup of one request is batched into one query per
//! kind. Built per request so no cache is shared between callers.
use crate::{Error, store};
use async_graphql::dataloader::{DataLoader, Loader};
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

/// The loaders of one request.
pub struct Loaders {
    /// Municipality by id.
    pub municipality: DataLoader<MunicipalityLoader>,
    /// Department by id.
    pub department: DataLoader<DepartmentLoader>,
    /// Staff by id.
    pub staff: DataLoader<StaffLoader>,
    /// Assignments by complaint.
    pub assignments: DataLoader<AssignmentsLoader>,
    /// Status events by complaint.
    pub status_events: DataLoader<StatusEventsLoader>,
    /// Responses by complaint.
    pub responses: DataLoader<ResponsesLoader>,
    /// Response counts by complaint.
    pub response_count: DataLoader<ResponseCountLoader>,
}

impl Loaders {
    /// Fresh loaders reading from `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        let spawn = |fut| {
            tokio::spawn(fut);
        };
        Loaders {
            municipality: DataLoader::new(MunicipalityLoader(db.clone()), spawn),
            department: DataLoader::new(DepartmentLoader(db.clone()), spawn),
            staff: DataLoader::new(StaffLoader(db.clone()), spawn),
            assignments: DataLoader::new(AssignmentsLoader(db.clone()), spawn),
            status_events: DataLoader::new(StatusEventsLoader(db.clone()), spawn),
            responses: DataLoader::new(ResponsesLoader(db.clone()), spawn),
            response_count: DataLoader::new(ResponseCountLoader(db.clone()), spawn),
        }
    }
}
