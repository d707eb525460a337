//! KPI groups of the complaints received in a window, read from the rollup (`kpi_block`):
//! only the blocks of the window's local days (of one municipality, if filtered), entries
//! filtered by instant, municipality, department, category and source, tallied per group and
//! for the total in one pass; the window's whole days come a month at a time, sorted and
//! kept (`kpi_interiors`), when memory is given for them. The caller's KPI scope is applied
//! here, AND-ed with its filter.
use super::kpi_interiors::{Asked, Fingerprint, Interior, block_key, covered};
use super::kpi_parts::KeptPart;
use super::{Db, kpi_blocks};
use crate::Result;
use crate::auth::policy::KpiScope;
use crate::domain::kpi::{
    Dimension, Figures, Group, Matcher, NO_DEPARTMENT, Selection, Tally, local_day,
};
use crate::domain::kpi_entry::{CATEGORIES, SOURCES, unpack_all};
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveEnum;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The KPI rows `scope` may see: its groups by `by` of the complaints `filter` selects, in key
/// order, then the total row — of the same complaints for a region-wide scope, and of the
/// whole region (the filter's window, category and source) for the others.
pub async fn scoped_groups(
    db: &Db,
    now: DateTime<Utc>,
    scope: KpiScope,
    filter: &Selection,
    by: Dimension,
) -> Result<Vec<Group>> {
    let region = Selection { municipality_id: None, department_id: None, ..filter.clone() };
    let (grouped, total) = match scope {
        KpiScope::All => (Some(filter.clone()), filter.clone()),
        KpiScope::Department(d) => (within(filter, Some(d), None), region),
        KpiScope::Municipality(m) => (within(filter, None, Some(m)), region),
        KpiScope::RegionTotal => (None, region),
        KpiScope::Nothing => return Ok(Vec::new()),
    };
    groups(db, now, grouped.as_ref().map(|s| (s, by)), Some(&total)).await
}

/// `filter` AND the scope's department or municipality; `None` when they contradict.
fn within(
    filter: &Selection,
    department: Option<i32>,
    municipality: Option<i32>,
) -> Option<Selection> {
    let narrowed = |asked: Option<i32>, own: Option<i32>| match (asked, own) {
        (Some(a), Some(o)) if a != o => None,
        (asked, own) => Some(own.or(asked)),
    };
    Some(Selection {
        department_id: narrowed(filter.department_id, department)?,
        municipality_id: narrowed(filter.municipality_id, municipality)?,
        ..filter.clone()
    })
}

/// The groups by `by` of the complaints `grouped` covers, in key order, then the total of
/// those `total` covers; figures evaluated at `now`. Both come from one read of the blocks.
async fn groups(
    db: &Db,
    now: DateTime<Utc>,
    grouped: Option<(&Selection, Dimension)>,
    total: Option<&Selection>,
) -> Result<Vec<Group>> {
    let selections: Vec<&Selection> = grouped.map(|(s, _)| s).into_iter().chain(total).collect();
    let (Some(from), Some(to)) =
        (selections.iter().map(|s| s.from).min(), selections.iter().map(|s| s.to).max())
    else {
        return Ok(Vec::new());
    };
    // Only one municipality's blocks when every selection is of that municipality.
    let municipality = selections[0].municipality_id;
    let municipality =
        municipality.filter(|_| selections.iter().all(|s| s.municipality_id == municipality));
    let (first, last) = (local_day(from), local_day(to - Duration::microseconds(1)));
    let blocks = kpi_blocks::read(db.read(), db.kpi_parts(), &first, &last, municipality).await?;
    let now_us = now.timestamp_micros();
    let by = grouped.map(|(_, by)| by);
    let grouped = grouped.map(|(s, by)| (s.matcher(), by));
    // A region-wide scope's total is of the grouped entries themselves: summed from the
    // groups at the end rather than tallied twice per entry.
    let total = total.map(Selection::matcher);
    let total_of_groups = grouped.is_some() && total == grouped.map(|g| g.0);
    let wants_total = total.is_some();
    let total = total.filter(|_| !total_of_groups);
    // A part inside the window can be added by its department summaries when no selection
    // asks for a category or source and the groups are departments or the parts' own keys.
    let same_window = selections.iter().all(|s| s.from == from && s.to == to);
    let by_groups = grouped.is_none_or(|(m, d)| {
        m.judges_groups() && !matches!(d, Dimension::Category | Dimension::Source)
    }) && total.is_none_or(|m| m.judges_groups());
    // Whole days come a month at a time from those kept (sorted durations, and counts
    // judged at `now` per group rather than per part) when the window is one for all.
    let interiors = db.kpi_parts().interiors().filter(|_| same_window && by_groups);
    let mut months: BTreeMap<&str, (Vec<&KeptPart>, Fingerprint)> = BTreeMap::new();
    let mut all = Tally::default();
    // Keys known per block (municipality, day, week) and per entry (department, category,
    // source, kept as codes until the end so the hot loop allocates nothing).
    let mut by_block: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_entry = ByCode::default();
    for block in &blocks {
        let inside = same_window && first < block.day && block.day < last;
        if inside && interiors.is_some() {
            let month = months.entry(block.day.get(..7).unwrap_or(&block.day)).or_default();
            month.0.push(block);
            month.1.add(block);
            continue;
        }
        let mut block_tally = block_key(by, block).map(|k| by_block.entry(k).or_default());
        let municipality_id = block.municipality_id;
        if inside && by_groups {
            // Every entry of a day inside the window is covered by time: the part's
            // department summaries are added whole.
            for (code, summary, in_total, in_groups) in covered(block, grouped.map(|g| g.0), total)
            {
                if in_total {
                    all.add_summary(summary, now_us);
                }
                if in_groups {
                    match block_tally.as_deref_mut() {
                        Some(t) => t.add_summary(summary, now_us),
                        None => by_entry.tally(code).add_summary(summary, now_us),
                    }
                }
            }
            continue;
        }
        for e in unpack_all(&block.entries) {
            if total.is_some_and(|m| m.keeps(&e, municipality_id)) {
                all.add(&e, now_us);
            }
            let Some((_, dimension)) = grouped.filter(|(m, _)| m.keeps(&e, municipality_id)) else {
                continue;
            };
            if let Some(t) = block_tally.as_deref_mut() {
                t.add(&e, now_us);
                continue;
            }
            let code = match dimension {
                Dimension::Department => e.department_id.unwrap_or(0),
                Dimension::Category => i32::from(e.category),
                Dimension::Source => i32::from(e.source),
                _ => continue,
            };
            by_entry.tally(code).add(&e, now_us);
        }
    }
    let asked = Asked {
        grouped: grouped.map(|(m, by)| (m.untimed(), by)),
        total: total.map(Matcher::untimed),
        total_of_groups,
    };
    let kept: Vec<Arc<Interior>> = match interiors {
        Some(kept) => months
            .into_iter()
            .map(|(month, (parts, fingerprint))| kept.month(asked, month, fingerprint, &parts))
            .collect(),
        None => Vec::new(),
    };
    for month in &kept {
        for (key, group) in &month.blocks {
            by_block.entry(key.clone()).or_default().add_summary_counts(&group.counts, now_us);
        }
        for (code, group) in &month.codes {
            by_entry.tally(*code).add_summary_counts(&group.counts, now_us);
        }
        if asked.total.is_some() {
            all.add_summary_counts(&month.total.counts, now_us);
        }
    }
    if total_of_groups {
        let (first, resolution) = by_block
            .values()
            .chain(by_entry.values())
            .map(Tally::lengths)
            .fold((0, 0), |(f, r), (a, b)| (f + a, r + b));
        all.reserve(first, resolution);
        by_block.values().chain(by_entry.values()).for_each(|t| all.merge(t));
    }
    // A block at the window's edge may hold no covered entry: no group for it.
    let mut keyed: BTreeMap<String, Figures> = by_block
        .into_iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(k, t)| {
            let months: Vec<_> =
                kept.iter().filter_map(|m| Some(&m.blocks.get(&k)?.durations)).collect();
            (k, t.figures_over(&months))
        })
        .collect();
    for (code, tally) in by_entry.into_tallies() {
        let months: Vec<_> =
            kept.iter().filter_map(|m| Some(&m.codes.get(&code)?.durations)).collect();
        let figures = tally.figures_over(&months);
        let index = usize::try_from(code).unwrap_or(usize::MAX);
        let key = match by {
            Some(Dimension::Department) if code == 0 => NO_DEPARTMENT.to_owned(),
            Some(Dimension::Category) => {
                CATEGORIES.get(index).map_or("OTHER".into(), |c| c.to_value())
            }
            Some(Dimension::Source) => SOURCES.get(index).map_or("OTHER".into(), |s| s.to_value()),
            _ => code.to_string(),
        };
        keyed.insert(key, figures);
    }
    let mut out: Vec<Group> =
        keyed.into_iter().map(|(key, figures)| Group { key: Some(key), figures }).collect();
    if wants_total {
        let months: Vec<_> = kept.iter().map(|m| &m.total.durations).collect();
        out.push(Group { key: None, figures: all.figures_over(&months) });
    }
    Ok(out)
}

/// Codes below this have a slot of their own.
const SLOTS: usize = 4096;

/// Tallies by a small integer code (a department id, a category or source code): a slot per
/// code below [`SLOTS`], a map beyond. Hashing the code of each of a year's million entries
/// took an eighth of the request (perf, 2026-12-02).
#[derive(Default)]
struct ByCode {
    slots: Vec<Option<Tally>>,
    rest: HashMap<i32, Tally>,
}

impl ByCode {
    /// The tally of `code`, new if none yet.
    fn tally(&mut self, code: i32) -> &mut Tally {
        match usize::try_from(code) {
            Ok(i) if i < SLOTS => {
                if self.slots.len() <= i {
                    self.slots.resize_with(i + 1, || None);
                }
                self.slots[i].get_or_insert_with(Tally::default)
            }
            _ => self.rest.entry(code).or_default(),
        }
    }

    /// Every tally.
    fn values(&self) -> impl Iterator<Item = &Tally> {
        self.slots.iter().flatten().chain(self.rest.values())
    }

    /// Every tally with its code.
    fn into_tallies(self) -> impl Iterator<Item = (i32, Tally)> {
        let slots = self.slots.into_iter().enumerate();
        let slotted = slots.filter_map(|(i, t)| Some((i32::try_from(i).ok()?, t?)));
        slotted.chain(self.rest)
    }
}
