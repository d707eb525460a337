//! The directory — municipalities, departments, staff — held as an in-process snapshot.
//!
//! These tables are small (22 + ~40 + ~2,000 rows) and read by nearly every request, so the
//! gateway keeps them in memory and resolves references without SQL. A snapshot is reloaded
//! (by one task, the others keep reading the old one) once it is older than its TTL. No
//! gateway write touches these tables; the TTL bounds staleness when they are edited behind
//! the gateway's back.
use crate::{Error, Result};
use entity::{department, municipality, staff};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// One consistent copy of the directory.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Municipalities in id order.
    pub municipalities: Vec<Arc<municipality::Model>>,
    /// Departments in id order.
    pub departments: Vec<Arc<department::Model>>,
    municipality_index: HashMap<i32, usize>,
    department_index: HashMap<i32, usize>,
    staff: HashMap<i64, Arc<staff::Model>>,
}

impl Snapshot {
    /// The municipality with this id.
    pub fn municipality(&self, id: i32) -> Option<&Arc<municipality::Model>> {
        self.municipality_index.get(&id).map(|&i| &self.municipalities[i])
    }

    /// The department with this id.
    pub fn department(&self, id: i32) -> Option<&Arc<department::Model>> {
        self.department_index.get(&id).map(|&i| &self.departments[i])
    }

    /// The administration of this municipality (its municipal department).
    pub fn administration_of(&self, municipality: i32) -> Option<&Arc<department::Model>> {
        self.departments
            .iter()
            .find(|d| d.kind == "municipal" && d.municipality_id == Some(municipality))
    }

    /// The staff member with this id.
    pub fn staff(&self, id: i64) -> Option<&Arc<staff::Model>> {
        self.staff.get(&id)
    }
}

/// The shared, self-refreshing directory snapshot.
#[derive(Debug)]
pub struct Directory {
    db: DatabaseConnection,
    ttl: Duration,
    current: RwLock<Option<(Instant, Arc<Snapshot>)>>,
    reload: Mutex<()>,
}

impl Directory {
    /// A directory reading from `db`, reloaded at the latest after `ttl`.
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        Directory { db, ttl, current: RwLock::new(None), reload: Mutex::new(()) }
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let guard = self.current.read().ok()?;
        guard.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, s)| s.clone())
    }

    /// The current snapshot, loading it if missing or stale (one load at a time).
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _single_flight = self.reload.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let snapshot = Arc::new(load(&self.db).await?);
        let mut guard =
            self.current.write().map_err(|_| Error::Internal("directory lock".into()))?;
        *guard = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }
}

async fn load(db: &DatabaseConnection) -> Result<Snapshot> {
    let (municipalities, departments, staff) = tokio::try_join!(
        municipality::Entity::find().order_by_asc(municipality::Column::Id).all(db),
        department::Entity::find().order_by_asc(department::Column::Id).all(db),
        staff::Entity::find().all(db),
    )?;
    Ok(Snapshot {
        municipality_index: municipalities.iter().enumerate().map(|(i, m)| (m.id, i)).collect(),
        department_index: departments.iter().enumerate().map(|(i, d)| (d.id, i)).collect(),
        staff: staff.into_iter().map(|s| (s.id, Arc::new(s))).collect(),
        municipalities: municipalities.into_iter().map(Arc::new).collect(),
        departments: departments.into_iter().map(Arc::new).collect(),
    })
}
