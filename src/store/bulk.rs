//! Bulk loading for seeds and imports — the backend-specific part of the store: Postgres gets
//! COPY on a dedicated connection; SQLite gets multi-row INSERTs (see `seed::sink`).
use super::Db;
use crate::{Error, Result};
use sea_orm::{ConnectionTrait, DbBackend, sqlx};
use sqlx::{Connection, Executor, PgConnection};

fn copy_error(e: sqlx::Error) -> Error {
    Error::Internal(format!("bulk load failed: {e}"))
}

/// A Postgres connection of its own, outside the pool, for COPY.
pub struct PgBulk {
    conn: PgConnection,
}

impl PgBulk {
    /// Takes a connection out of the pool and tunes it for loading.
    ///
    /// Foreign-key triggers are switched off for this session when the role may do so
    /// (`session_replication_role = replica`, as pg_restore does): the generator writes
    /// consistent rows by construction, and per-row FK checks would triple the load time.
    pub async fn open(db: &Db) -> Result<Self> {
        let mut conn =
            db.write().get_postgres_connection_pool().acquire().await.map_err(copy_error)?.detach();
        conn.execute("SET synchronous_commit = off").await.map_err(copy_error)?;
        if let Err(e) = conn.execute("SET session_replication_role = replica").await {
            tracing::warn!(error = %e, "cannot disable FK triggers for the load; it will be slower");
        }
        Ok(PgBulk { conn })
    }

    /// Loads one set of tables in one transaction: each `(table, columns, COPY text)`.
    pub async fn copy_all(&mut self, parts: &[(&str, &str, Vec<u8>)]) -> Result<()> {
        let mut tx = self.conn.begin().await.map_err(copy_error)?;
        for (table, columns, data) in parts {
            if data.is_empty() {
                continue;
            }
            let stmt = format!("COPY {table} ({columns}) FROM STDIN");
            let mut copy = tx.copy_in_raw(&stmt).await.map_err(copy_error)?;
            copy.send(data.as_slice()).await.map_err(copy_error)?;
            copy.finish().await.map_err(copy_error)?;
        }
        tx.commit().await.map_err(copy_error)
    }

    /// Closes the connection (its session settings die with it).
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// After rows were written with explicit ids, moves Postgres sequences past them
/// (SQLite's AUTOINCREMENT follows the largest id by itself).
pub async fn reset_sequences(db: &Db, tables: &[&str]) -> Result<()> {
    if db.write().get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in tables {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT MAX(id) FROM {table}), 1))"
        );
        db.write().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Reserves `n` new complaint ids inside `tx` (the complaint number is built from the id, so
/// rows are inserted with their ids and numbers in one statement). Postgres draws them from
/// the sequence; SQLite continues after the largest id, which is safe because its writers are
/// serialized (`Db::begin_write`).
pub async fn reserve_complaint_ids<C: ConnectionTrait>(tx: &C, n: usize) -> Result<Vec<i64>> {
    let backend = tx.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT nextval(pg_get_serial_sequence('complaint', 'id')) FROM generate_series(1, {n})"
        ),
        _ => "SELECT COALESCE(MAX(id), 0) FROM complaint".to_owned(),
    };
    let rows = tx.query_all_raw(sea_orm::Statement::from_string(backend, sql)).await?;
    let first = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<Vec<_>, _>>()?;
    Ok(match backend {
        DbBackend::Postgres => first,
        _ => {
            let max = first.first().copied().unwrap_or(0);
            (1..=n as i64).map(|i| max + i).collect()
        }
    })
}

/// Refreshes planner statistics after a large load. On Postgres the complaint table is also
/// vacuumed: that sets its visibility map, so counts become index-only scans.
pub async fn analyze(db: &Db) -> Result<()> {
    // VACUUM refuses to run in a (multi-statement) transaction: one statement per call.
    if db.write().get_database_backend() == DbBackend::Postgres {
        db.write().execute_unprepared("VACUUM (ANALYZE) complaint").await?;
    }
    db.write().execute_unprepared("ANALYZE").await?;
    Ok(())
}
