//! The durations of a KPI window's whole days, sorted a month at a time and kept between
//! requests, each month under the generations of its parts. A window that moved by a second,
//! or a read after a write to today (an edge day), finds its months as they were and adds
//! only its edge days' durations; a write to an older day re-sorts that day's month alone.
//! Each group keeps its counts and sorted deadline instants too: a request judges them at its
//! own `now` with a binary search per group and month, not per part.
use super::kpi_parts::KeptPart;
use crate::domain::kpi::{Dimension, Matcher, Summary, week_of_day};
use crate::domain::kpi_sorted::KeptDurations;
use moka::sync::Cache;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a request asks of the whole days of its window: its groups and its total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asked {
    /// The groups' matcher without its window, and their dimension.
    pub grouped: Option<(Matcher, Dimension)>,
    /// The total's own matcher without its window (none: no total, or the groups' union).
    pub total: Option<Matcher>,
    /// Whether the total is the union of the groups.
    pub total_of_groups: bool,
}

/// Which parts at which generations a month holds, in any order (the sum of a hash per
/// part, in two lanes): the same parts at the same generations hold the same entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    parts: usize,
    lanes: [u64; 2],
}

impl Fingerprint {
    /// Adds `part` at its generation.
    pub fn add(&mut self, part: &KeptPart) {
        let day =
            part.day.bytes().fold(0_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let place = (u64::from(part.municipality_id.cast_unsigned()) << 32)
            | u64::from(part.part.cast_unsigned());
        // The key is mixed in: a migration gave every part one generation.
        let at = mix(mix(day ^ mix(place)) ^ part.generation.cast_unsigned());
        self.parts += 1;
        self.lanes[0] = self.lanes[0].wrapping_add(at);
        self.lanes[1] = self.lanes[1].wrapping_add(mix(at ^ 0x5851_F42D_4C95_7F2D));
    }
}

/// splitmix64's finaliser: every bit of `x` moves every bit of the result.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A month's key: what is asked, and the month (`YYYY-MM`).
type MonthKey = (Asked, String);

/// A group's share of a month of whole days: its counts and deadline instants (judged at
/// each request's `now`) and its durations, sorted.
#[derive(Debug, Default)]
pub struct MonthGroup {
    /// Counts and sorted deadline instants, no durations.
    pub counts: Summary,
    /// Durations, sorted.
    pub durations: KeptDurations,
}

impl MonthGroup {
    fn of(summaries: &[&Summary]) -> Self {
        let summaries = || summaries.iter().copied();
        MonthGroup {
            counts: Summary::counts_of(summaries()),
            durations: KeptDurations::of(summaries()),
        }
    }

    fn bytes(&self) -> usize {
        self.counts.bytes() + self.durations.bytes() + GROUP_OVERHEAD
    }
}

/// One month of whole days, as asked: its groups and its total.
#[derive(Debug, Default)]
pub struct Interior {
    /// Groups keyed per block (municipality, day, week).
    pub blocks: BTreeMap<String, MonthGroup>,
    /// Groups keyed per entry (department codes, 0: not routed).
    pub codes: BTreeMap<i32, MonthGroup>,
    /// The total: its own matcher's, or only the groups' durations together when the total
    /// is their union (its counts are then summed from the groups').
    pub total: MonthGroup,
}

impl Interior {
    /// The groups and total of `parts` (of whole days) as `asked`.
    fn of(parts: &[&KeptPart], asked: &Asked) -> Interior {
        let mut blocks: BTreeMap<String, Vec<&Summary>> = BTreeMap::new();
        let mut codes: BTreeMap<i32, Vec<&Summary>> = BTreeMap::new();
        let mut total = Vec::new();
        let by = asked.grouped.map(|(_, by)| by);
        for part in parts {
            let key = block_key(by, part);
            for (code, summary, in_total, in_groups) in
                covered(part, asked.grouped.map(|(m, _)| m), asked.total)
            {
                if in_total {
                    total.push(summary);
                }
                match (&key, in_groups) {
                    (_, false) => {}
                    (Some(k), true) => blocks.entry(k.clone()).or_default().push(summary),
                    (None, true) => codes.entry(code).or_default().push(summary),
                }
            }
        }
        let blocks: BTreeMap<_, _> =
            blocks.into_iter().map(|(k, s)| (k, MonthGroup::of(&s))).collect();
        let codes: BTreeMap<_, _> =
            codes.into_iter().map(|(k, s)| (k, MonthGroup::of(&s))).collect();
        let total = if asked.total_of_groups {
            let groups = blocks.values().chain(codes.values()).map(|g| &g.durations);
            MonthGroup { counts: Summary::default(), durations: KeptDurations::union(groups) }
        } else {
            MonthGroup::of(&total)
        };
        Interior { blocks, codes, total }
    }

    fn bytes(&self) -> usize {
        let groups = self.blocks.values().chain(self.codes.values()).chain([&self.total]);
        groups.map(MonthGroup::bytes).sum()
    }
}

/// Bytes a kept group costs besides its durations (key, map node, boxes).
const GROUP_OVERHEAD: usize = 96;

/// The key of a part's group when groups are per block (`None`: per entry, or no groups).
pub fn block_key(by: Option<Dimension>, part: &KeptPart) -> Option<String> {
    match by {
        Some(Dimension::Municipality) => Some(part.municipality_id.to_string()),
        Some(Dimension::Day) => Some(part.day.clone()),
        Some(Dimension::Week) => Some(week_of_day(&part.day)),
        _ => None,
    }
}

/// Each department summary of `part` (a day inside the window) with its code, and whether
/// the total's and the groups' matchers cover it.
pub fn covered(
    part: &KeptPart,
    grouped: Option<Matcher>,
    total: Option<Matcher>,
) -> impl Iterator<Item = (i32, &Summary, bool, bool)> {
    let municipality_id = part.municipality_id;
    part.by_department().iter().map(move |(code, summary)| {
        let department = (*code != 0).then_some(*code);
        let covers = |m: &Matcher| m.keeps_group(municipality_id, department);
        (*code, summary, total.as_ref().is_some_and(covers), grouped.as_ref().is_some_and(covers))
    })
}

/// Months kept, each at the fingerprint of the parts it was sorted from, bounded by their
/// bytes (least recently used out first). A month sorted again replaces its older version
/// under the same key, so versions outdated by writes do not pile up and crowd out the
/// current ones.
#[derive(Clone)]
pub struct KpiInteriors {
    months: Cache<MonthKey, (Fingerprint, Arc<Interior>)>,
}

impl KpiInteriors {
    /// Keeps months up to `max_bytes` of memory.
    pub fn new(max_bytes: u64) -> Self {
        let months = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &MonthKey, (_, m): &(Fingerprint, Arc<Interior>)| {
                u32::try_from(m.bytes()).unwrap_or(u32::MAX)
            })
            .build();
        KpiInteriors { months }
    }

    /// The month `month` of `parts` (whose fingerprint is `fingerprint`) as `asked`: kept
    /// at that fingerprint, or sorted now and kept.
    pub fn month(
        &self,
        asked: Asked,
        month: &str,
        fingerprint: Fingerprint,
        parts: &[&KeptPart],
    ) -> Arc<Interior> {
        let key = (asked, month.to_owned());
        match self.months.get(&key) {
            Some((kept, interior)) if kept == fingerprint => interior,
            _ => {
                let interior = Arc::new(Interior::of(parts, &asked));
                self.months.insert(key, (fingerprint, interior.clone()));
                interior
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kpi::{Selection, Tally};
    use crate::domain::kpi_entry::Entry;
    use entity::kpi_block;

    /// A part of 2026-11-10 in municipality 1 with one resolved entry per duration.
    fn part(generation: i64, resolutions_ms: &[i64]) -> Arc<KeptPart> {
        let mut entries = Vec::new();
        for &ms in resolutions_ms {
            let e = Entry {
                received_us: 0,
                first_due_us: 1,
                resolution_due_us: 2,
                first_response_ms: Some(ms / 2),
                resolution_ms: Some(ms),
                department_id: Some(3),
                category: 1,
                source: 2,
                open: false,
                reopened: false,
                on_time: true,
            };
            e.pack(&mut entries);
        }
        let row = kpi_block::Model {
            day: "2026-11-10".into(),
            municipality_id: 1,
            part: 0,
            entries,
            generation,
        };
        KeptPart::new(row)
    }

    #[test]
    fn a_month_sorted_again_replaces_the_version_its_parts_outdated() {
        let everything = Selection {
            from: chrono::DateTime::UNIX_EPOCH,
            to: chrono::DateTime::UNIX_EPOCH,
            municipality_id: None,
            department_id: None,
            category: None,
            source: None,
        };
        let m = everything.matcher().untimed();
        let asked =
            Asked { grouped: Some((m, Dimension::Department)), total: None, total_of_groups: true };
        let kept = KpiInteriors::new(1 << 20);
        let p90 = |interior: &Interior| {
            let mut t = Tally::default();
            t.add_summary_counts(&interior.codes[&3].counts, 0);
            let figures = t.figures_over(&[&interior.codes[&3].durations]);
            (figures.received, figures.resolution.map(|d| d.p90))
        };
        for (generation, resolutions) in [(7, vec![1_000, 3_000]), (8, vec![1_000, 3_000, 9_000])] {
            let parts = [part(generation, &resolutions)];
            let mut fingerprint = Fingerprint::default();
            fingerprint.add(&parts[0]);
            let first = kept.month(asked, "2026-11", fingerprint, &[&*parts[0]]);
            let again = kept.month(asked, "2026-11", fingerprint, &[]);
            assert!(Arc::ptr_eq(&first, &again), "kept at its fingerprint");
            // p90 as percentile_cont: rank 0.9 of two values, 1.8 of three.
            let want = match generation {
                7 => (2, Some(1.0 + 0.9 * (3.0 - 1.0))),
                _ => (3, Some(3.0 + 0.8 * (9.0 - 3.0))),
            };
            assert_eq!(p90(&again), want, "generation {generation}");
        }
        kept.months.run_pending_tasks();
        assert_eq!(kept.months.entry_count(), 1, "one version of the month");
    }
}
