//! Counts of complaints answered from the KPI rollup instead of the complaint table, where
//! the rollup holds everything the scope and the filter ask: a region-wide or municipality
//! scope, and filters of municipality, current department, category, source, received time
//! and overdue. A count over the table reads every matching row's index entry (a million for
//! the region, about 50 ms); the rollup's parts are kept in memory and checked against their
//! generation, so the same count is a pass over packed entries. Everything else (a ministry's
//! past complaints, statuses, numbers, text search, the public flag) is counted in SQL.
use super::complaints::ComplaintFilter;
use super::{Db, kpi_blocks, scope::Scoped};
use crate::Result;
use crate::domain::kpi::{Selection, local_day};
use crate::domain::kpi_entry::unpack_all;
use chrono::{DateTime, Duration, Utc};

/// The count of the complaints in scope that `filter` selects, when the rollup can tell it
/// exactly; `None` when only SQL can.
pub async fn count(
    db: &Db,
    scoped: Scoped,
    filter: &ComplaintFilter,
    now: DateTime<Utc>,
) -> Result<Option<u64>> {
    let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if filter.status.is_some() || filter.numbers.is_some() || search.is_some() {
        return Ok(None);
    }
    let Some(own) = scoped.in_rollup() else { return Ok(None) };
    let municipality = match (own, filter.municipality_id) {
        (Some(own), Some(asked)) if asked != own => return Ok(Some(0)),
        (own, asked) => own.or(asked),
    };
    if let (Some(from), Some(to)) = (filter.received_from, filter.received_to)
        && from >= to
    {
        return Ok(Some(0));
    }
    // Days as `YYYY-MM-DD` compare as text; no bound reads every day.
    let first = filter.received_from.map_or_else(|| "0000-00-00".to_owned(), local_day);
    let last = filter
        .received_to
        .map_or_else(|| "9999-99-99".to_owned(), |to| local_day(to - Duration::microseconds(1)));
    let parts = kpi_blocks::read(db.read(), db.kpi_parts(), &first, &last, municipality).await?;
    // The KPIs' own entry test; an unbounded side is the farthest instant.
    let matcher = Selection {
        from: filter.received_from.unwrap_or(DateTime::<Utc>::MIN_UTC),
        to: filter.received_to.unwrap_or(DateTime::<Utc>::MAX_UTC),
        municipality_id: municipality,
        department_id: filter.department_id,
        category: filter.category,
        source: filter.source,
    }
    .matcher();
    let now_us = now.timestamp_micros();
    // Filters the parts cannot answer whole; without them a part of a day strictly inside
    // the window counts all its entries, or its overdue ones.
    let per_entry =
        filter.department_id.is_some() || filter.category.is_some() || filter.source.is_some();
    let mut counted = 0u64;
    for part in &parts {
        if !per_entry && first.as_str() < part.day.as_str() && part.day.as_str() < last.as_str() {
            // Overdue or not is the part's sorted overdue instants, cut at now.
            let whole = part.entry_count();
            counted += match filter.overdue {
                None => whole,
                Some(true) => part.overdue_at(now_us),
                Some(false) => whole - part.overdue_at(now_us),
            } as u64;
            continue;
        }
        for e in unpack_all(&part.entries) {
            let kept = matcher.keeps(&e, part.municipality_id)
                && filter.overdue.is_none_or(|want| e.is_overdue_at(now_us) == want);
            counted += u64::from(kept);
        }
    }
    Ok(Some(counted))
}
