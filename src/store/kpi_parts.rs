//! The KPI rollup's parts kept in memory between requests, each with the generation it was
//! read at. A KPI request lists the window's parts with their generations (narrow rows, no
//! entries) and fetches the entries only of parts it does not hold at that generation: a new
//! window end or a write re-reads the parts that changed, not a year of entries.
use super::kpi_interiors::KpiInteriors;
use crate::domain::kpi::Summary;
use crate::domain::kpi_entry::{ENTRY_BYTES, unpack_all};
use entity::kpi_block;
use moka::sync::Cache;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// A part's key: (local day, municipality, part).
pub type PartKey = (String, i32, i32);

/// A part as read, and what is worked out from its entries once per generation.
pub struct KeptPart {
    row: kpi_block::Model,
    /// The part's entries summarised per current department (0: none), by department:
    /// a part inside a window is then added group by group, and its overdue entries counted
    /// by binary searches, instead of a pass over the entries (worked out at first use).
    by_department: OnceLock<Box<[(i32, Summary)]>>,
    /// When each open entry turns overdue, ascending: a part's overdue count in one binary
    /// search (the departments' summaries would take one each, a cache miss apiece).
    overdue_after: OnceLock<Box<[i64]>>,
}

impl KeptPart {
    /// The part of `row`.
    pub fn new(row: kpi_block::Model) -> Arc<Self> {
        Arc::new(KeptPart { row, by_department: OnceLock::new(), overdue_after: OnceLock::new() })
    }

    /// The part's summaries per current department, ascending (0: not routed).
    pub fn by_department(&self) -> &[(i32, Summary)] {
        self.by_department.get_or_init(|| {
            let mut entries: Vec<_> = unpack_all(&self.row.entries).collect();
            entries.sort_unstable_by_key(|e| e.department_id.unwrap_or(0));
            entries
                .chunk_by(|a, b| a.department_id == b.department_id)
                .map(|group| {
                    let code = group[0].department_id.unwrap_or(0);
                    (code, Summary::of(group.iter().copied()))
                })
                .collect()
        })
    }

    /// How many of the part's entries are overdue at `now_us` (`sla::is_overdue`).
    pub fn overdue_at(&self, now_us: i64) -> usize {
        let after = self.overdue_after.get_or_init(|| {
            let mut after: Vec<i64> =
                unpack_all(&self.row.entries).filter_map(|e| e.overdue_after()).collect();
            after.sort_unstable();
            after.into()
        });
        after.partition_point(|&t| t < now_us)
    }

    /// How many entries the part holds.
    pub fn entry_count(&self) -> usize {
        self.row.entries.len() / ENTRY_BYTES
    }
}

impl Deref for KeptPart {
    type Target = kpi_block::Model;

    fn deref(&self) -> &kpi_block::Model {
        &self.row
    }
}

/// Parts read before, bounded by their entries' bytes (least recently used out first).
#[derive(Clone)]
pub struct KpiParts {
    parts: Option<Cache<PartKey, Arc<KeptPart>>>,
    /// Windows' whole days' durations, sorted a month at a time.
    interiors: Option<KpiInteriors>,
}

/// Bytes a kept part costs besides its entries (key, model, cache bookkeeping).
const PART_OVERHEAD: usize = 160;

impl KpiParts {
    /// Keeps parts up to `max_bytes` of memory, and sorted months of durations up to a
    /// quarter as much again; 0 keeps neither.
    pub fn new(max_bytes: u64) -> Self {
        let parts = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                // The entries, their summaries and overdue instants: at most five instants or
                // durations of 8 bytes per 48-byte entry (weighed before they are worked out).
                .weigher(|_: &PartKey, p: &Arc<KeptPart>| {
                    let bytes = p.entries.len() * 2 + PART_OVERHEAD;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build()
        });
        let interiors = (max_bytes > 0).then(|| KpiInteriors::new(max_bytes / 4));
        KpiParts { parts, interiors }
    }

    /// The sorted months of durations, if any are kept.
    pub(crate) fn interiors(&self) -> Option<&KpiInteriors> {
        self.interiors.as_ref()
    }

    /// The kept part at `key`, if it is at `generation`.
    pub fn get(&self, key: &PartKey, generation: i64) -> Option<Arc<KeptPart>> {
        self.parts.as_ref()?.get(key).filter(|p| p.generation == generation)
    }

    /// Keeps `part` (replacing an older generation of it).
    pub fn keep(&self, part: &Arc<KeptPart>) {
        if let Some(parts) = &self.parts {
            let key = (part.day.clone(), part.municipality_id, part.part);
            parts.insert(key, part.clone());
        }
    }
}

impl std::fmt::Debug for KpiParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.parts.as_ref().map_or(0, |p| p.entry_count());
        f.debug_struct("KpiParts").field("kept", &kept).finish()
    }
}
