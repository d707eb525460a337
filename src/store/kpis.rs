//! KPI groups of the complaints received in a window, read from the rollup (`kpi_block`):
//! only the blocks of the window's local days (of one municipality, if filtered), entries
//! filtered by instant, department, category and source, tallied per group in one pass.
use super::kpi_blocks;
use crate::Result;
use crate::domain::kpi::{
    Dimension, Figures, Group, NO_DEPARTMENT, Selection, Tally, local_day, week_of_day,
};
use crate::domain::kpi_entry::{CATEGORIES, SOURCES, unpack_all};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveEnum, DatabaseConnection};
use std::collections::{BTreeMap, HashMap};

/// The groups of the complaints `sel` covers by `by`, in key order, then their total if
/// `total`; figures evaluated at `now`.
pub async fn groups(
    db: &DatabaseConnection,
    sel: &Selection,
    now: DateTime<Utc>,
    by: Option<Dimension>,
    total: bool,
) -> Result<Vec<Group>> {
    let (first, last) = (local_day(sel.from), local_day(sel.to - Duration::microseconds(1)));
    let blocks = kpi_blocks::read(db, &first, &last, sel.municipality_id).await?;
    let now_us = now.timestamp_micros();
    let mut all = Tally::default();
    // Keys known per block (municipality, day, week) and per entry (department, category,
    // source, kept as codes until the end so the hot loop allocates nothing).
    let mut by_block: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_entry: HashMap<i32, Tally> = HashMap::new();
    for block in &blocks {
        let block_key = match by {
            Some(Dimension::Municipality) => Some(block.municipality_id.to_string()),
            Some(Dimension::Day) => Some(block.day.clone()),
            Some(Dimension::Week) => Some(week_of_day(&block.day)),
            _ => None,
        };
        let mut block_tally = block_key.map(|k| by_block.entry(k).or_default());
        for e in unpack_all(&block.entries).filter(|e| sel.keeps(e)) {
            if total {
                all.add(&e, now_us);
            }
            if let Some(t) = block_tally.as_deref_mut() {
                t.add(&e, now_us);
                continue;
            }
            let code = match by {
                Some(Dimension::Department) => e.department_id.unwrap_or(0),
                Some(Dimension::Category) => i32::from(e.category),
                Some(Dimension::Source) => i32::from(e.source),
                _ => continue,
            };
            by_entry.entry(code).or_default().add(&e, now_us);
        }
    }
    // A block at the window's edge may hold no covered entry: no group for it.
    let mut keyed: BTreeMap<String, Figures> = by_block
        .into_iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(k, t)| (k, t.figures()))
        .collect();
    for (code, tally) in by_entry {
        let index = usize::try_from(code).unwrap_or(usize::MAX);
        let key = match by {
            Some(Dimension::Department) if code == 0 => NO_DEPARTMENT.to_owned(),
            Some(Dimension::Category) => {
                CATEGORIES.get(index).map_or("OTHER".into(), |c| c.to_value())
            }
            Some(Dimension::Source) => SOURCES.get(index).map_or("OTHER".into(), |s| s.to_value()),
            _ => code.to_string(),
        };
        keyed.insert(key, tally.figures());
    }
    let mut out: Vec<Group> =
        keyed.into_iter().map(|(key, figures)| Group { key: Some(key), figures }).collect();
    if total {
        out.push(Group { key: None, figures: all.figures() });
    }
    Ok(out)
}
