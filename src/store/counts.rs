//! How many complaints in scope match a filter (`totalCount`), counted the cheapest exact way:
//! from the KPI rollup where it holds what the scope and filter ask (`rollup_counts`); a
//! ministry's whole scope from index entries on Postgres (`Scoped::whole_count`), its overdue
//! complaints in the two halves of its scope (`Scoped::halves`); anything else in SQL over the
//! table.
use super::complaints::ComplaintFilter;
use super::{Db, rollup_counts, scope::Scoped};
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::{PaginatorTrait, QueryFilter};

/// How many complaints in scope `filter` selects.
pub async fn count(
    db: &Db,
    scoped: Scoped,
    filter: &ComplaintFilter,
    now: DateTime<Utc>,
) -> Result<u64> {
    filter.validate()?;
    if let Some(n) = rollup_counts::count(db, scoped, filter, now).await? {
        return Ok(n);
    }
    let read = db.read();
    if filter.narrows_nothing()
        && let Some(n) = scoped.whole_count(read).await?
    {
        return Ok(n);
    }
    let backend = read.get_database_backend();
    // Overdue complaints are open: each half of a ministry's scope has a partial index of
    // its open rows, where the scope as one OR reads the department's rows in the heap.
    if filter.overdue == Some(true)
        && let Some(halves) = scoped.halves(backend)
    {
        let (condition, mut total) = (filter.condition(now), 0);
        for half in halves {
            total += half.filter(condition.clone()).count(read).await?;
        }
        return Ok(total);
    }
    let query = scoped.complaints(backend).filter(filter.condition(now));
    Ok(query.count(read).await?)
}
