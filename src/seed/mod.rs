//! `cur-gateway seed`: a deterministic synthetic region — the same seed (and `until` day)
//! gives the same rows. Postgres loads through COPY on two connections; SQLite through
//! multi-row INSERTs.
mod copy_text;
mod generate;
mod reference;
mod rng;
mod texts;

use crate::store::{Db, bulk};
use crate::{Error, Result};
use chrono::{DurationRound, TimeDelta, Utc};
use entity::{
    assignment, complaint, department, holiday, municipality, response, routing_rule, staff,
    status_event,
};
use generate::{Batch, Generator, NextIds, Region};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, PaginatorTrait,
    QuerySelect, TransactionTrait, sea_query::Expr,
};
use std::{fmt, sync::Arc, time::Instant};
use tokio::sync::{Mutex, mpsc};

/// Complaints generated and written per batch.
const BATCH: usize = 5_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Number of complaints.
    pub complaints: u64,
    /// Random seed.
    pub seed: u64,
    /// Staff across all departments (only when the directory is created).
    pub staff: u32,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
}

impl SeedOptions {
    /// The small demo region of the embedded backend.
    pub fn demo(complaints: u64) -> Self {
        SeedOptions { complaints, seed: 86, staff: 400, progress: false }
    }
}

/// What a seed run wrote.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// Rows per table.
    pub complaints: u64,
    /// Assignments written.
    pub assignments: u64,
    /// Status events written.
    pub events: u64,
    /// Responses written.
    pub responses: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seeded {} complaints, {} assignments, {} status events, {} responses in {:.1} s",
            self.complaints, self.assignments, self.events, self.responses, self.seconds
        )
    }
}

/// Whether the database has no directory yet (a fresh embedded database).
pub async fn is_empty(db: &Db) -> Result<bool> {
    Ok(municipality::Entity::find().count(db.write()).await? == 0)
}

/// Fills the default routing rules and holidays into a database whose directory exists but
/// whose tables are empty (databases seeded before those tables existed). Idempotent.
pub async fn ensure_rules(db: &Db) -> Result<()> {
    let conn = db.write();
    if is_empty(db).await? {
        return Ok(());
    }
    if routing_rule::Entity::find().count(conn).await? == 0 {
        let depts = department::Entity::find().all(conn).await?;
        let tx = conn.begin().await?;
        insert_chunks(&tx, &reference::routing_rules(&depts, Utc::now()), 500).await?;
        tx.commit().await?;
        bulk::reset_sequences(db, &["routing_rule"]).await?;
        tracing::info!("default routing rules written");
    }
    if holiday::Entity::find().count(conn).await? == 0 {
        let tx = conn.begin().await?;
        insert_chunks(&tx, &reference::holidays(), 500).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Generates and writes the region.
pub async fn run(db: &Db, opts: &SeedOptions) -> Result<SeedReport> {
    let started = Instant::now();
    let region = ensure_directory(db, opts).await?;
    let next = next_ids(db).await?;
    // Anchored to the start of the current UTC day, so reruns the same day are identical.
    let until = Utc::now()
        .duration_trunc(TimeDelta::days(1))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let mut generator = Generator::new(opts.seed, region, until, next);

    let bar = if opts.progress {
        let bar = ProgressBar::new(opts.complaints);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} complaints ({per_sec}, eta {eta})",
            )
            .map_err(|e| Error::Internal(e.to_string()))?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let total = opts.complaints;
    let (tx, rx) = mpsc::channel::<Batch>(4);
    let producer = tokio::task::spawn_blocking(move || {
        let mut left = total;
        while left > 0 {
            let n = left.min(BATCH as u64);
            if tx.blocking_send(generator.batch(n as usize)).is_err() {
                break;
            }
            left -= n;
        }
    });

    let rx = Arc::new(Mutex::new(rx));
    let report = Arc::new(std::sync::Mutex::new(SeedReport::default()));
    let writers = match db.write().get_database_backend() {
        // Two COPY streams keep both cores busy on the server side.
        DbBackend::Postgres => 2,
        _ => 1,
    };
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (db, rx, report, bar) = (db.clone(), rx.clone(), report.clone(), bar.clone());
        tasks.push(tokio::spawn(async move { write_batches(&db, &rx, &report, &bar).await }));
    }
    let mut result = Ok(());
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(Error::Internal(format!("seed writer panicked: {e}"))),
        }
    }
    // A failed writer closes the channel; the producer then stops.
    drop(rx);
    producer.await.map_err(|e| Error::Internal(format!("seed generator panicked: {e}")))?;
    result?;
    bar.finish_and_clear();

    bulk::reset_sequences(db, &["complaint", "assignment", "status_event", "response"]).await?;
    // Bulk loading bypasses the write paths, so the KPI rollup is recomputed once at the end.
    crate::store::kpi_blocks::rebuild(db.write()).await?;
    bulk::analyze(db).await?;
    let mut report = report.lock().map_err(|_| Error::Internal("poisoned".into()))?.clone();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn write_batches(
    db: &Db,
    rx: &Mutex<mpsc::Receiver<Batch>>,
    report: &std::sync::Mutex<SeedReport>,
    bar: &ProgressBar,
) -> Result<()> {
    let mut pg = match db.write().get_database_backend() {
        DbBackend::Postgres => Some(bulk::PgBulk::open(db).await?),
        _ => None,
    };
    let outcome = async {
        loop {
            let Some(batch) = rx.lock().await.recv().await else { return Ok(()) };
            match pg.as_mut() {
                Some(pg) => copy_batch(pg, &batch).await?,
                None => insert_batch(db, &batch).await?,
            }
            let mut r = report.lock().map_err(|_| Error::Internal("poisoned".into()))?;
            r.complaints += batch.complaints.len() as u64;
            r.assignments += batch.assignments.len() as u64;
            r.events += batch.events.len() as u64;
            r.responses += batch.responses.len() as u64;
            bar.inc(batch.complaints.len() as u64);
        }
    }
    .await;
    if let Some(pg) = pg {
        pg.close().await;
    }
    outcome
}

async fn copy_batch(pg: &mut bulk::PgBulk, b: &Batch) -> Result<()> {
    // Complaints first: the other tables point at them.
    let parts = [
        (
            "complaint",
            copy_text::COMPLAINT_COLUMNS,
            copy_text::complaints(&b.complaints, &b.assignments),
        ),
        ("complaint_search", copy_text::SEARCH_COLUMNS, copy_text::searches(&b.searches)),
        ("assignment", copy_text::ASSIGNMENT_COLUMNS, copy_text::assignments(&b.assignments)),
        ("status_event", copy_text::EVENT_COLUMNS, copy_text::events(&b.events)),
        ("response", copy_text::RESPONSE_COLUMNS, copy_text::responses(&b.responses)),
    ];
    pg.copy_all(&parts).await
}

/// Multi-row INSERTs, chunked under SQLite's bound-variable limit, one transaction a batch.
async fn insert_batch(db: &Db, b: &Batch) -> Result<()> {
    let tx = db.write().begin().await?;
    insert_chunks(&tx, &b.complaints, 500).await?;
    insert_chunks(&tx, &b.searches, 2000).await?;
    insert_chunks(&tx, &b.assignments, 2000).await?;
    insert_chunks(&tx, &b.events, 2000).await?;
    insert_chunks(&tx, &b.responses, 2000).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts `rows` with one multi-row INSERT per `size` rows.
async fn insert_chunks<M, A>(tx: &DatabaseTransaction, rows: &[M], size: usize) -> Result<()>
where
    M: IntoActiveModel<A> + Clone,
    A: ActiveModelTrait + Send,
{
    for chunk in rows.chunks(size) {
        let models = chunk.iter().cloned().map(IntoActiveModel::into_active_model);
        <A::Entity as EntityTrait>::insert_many(models).exec(tx).await?;
    }
    Ok(())
}

/// Creates the directory (municipalities, departments, staff, SLA policies) if absent and
/// returns the region the generator routes into.
async fn ensure_directory(db: &Db, opts: &SeedOptions) -> Result<Region> {
    let conn = db.write();
    if is_empty(db).await? {
        let munis = reference::municipalities();
        let depts = reference::departments(&munis);
        let mut rng = rng::rng(opts.seed);
        let staff = reference::staff(&mut rng, &depts, &munis, opts.staff, 1);
        let tx = conn.begin().await?;
        for m in &munis {
            m.clone().into_active_model().insert(&tx).await?;
        }
        for d in &depts {
            d.clone().into_active_model().insert(&tx).await?;
        }
        insert_chunks(&tx, &staff, 1000).await?;
        for p in reference::sla_policies() {
            p.into_active_model().insert(&tx).await?;
        }
        tx.commit().await?;
        bulk::reset_sequences(db, &["municipality", "department", "staff", "sla_policy"]).await?;
    }
    ensure_rules(db).await?;
    let munis = municipality::Entity::find().all(conn).await?;
    let depts = department::Entity::find().all(conn).await?;
    let staff: Vec<(i64, i32)> = staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .column(staff::Column::DepartmentId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Region::new(munis, &depts, &staff))
}

async fn max_id<E: EntityTrait>(db: &Db, entity: E) -> Result<i64> {
    let _ = entity;
    let max: Option<Option<i64>> = E::find()
        .select_only()
        .column_as(Expr::cust("MAX(id)"), "m")
        .into_tuple()
        .one(db.write())
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

async fn next_ids(db: &Db) -> Result<NextIds> {
    Ok(NextIds {
        complaint: max_id(db, complaint::Entity).await? + 1,
        assignment: max_id(db, assignment::Entity).await? + 1,
        event: max_id(db, status_event::Entity).await? + 1,
        response: max_id(db, response::Entity).await? + 1,
    })
}
