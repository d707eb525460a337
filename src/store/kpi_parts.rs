//! The KPI rollup's parts kept in memory between requests, each with the generation it was
//! read at. A KPI request lists the window's parts with their generations (narrow rows, no
//! entries) and fetches the entries only of parts it does not hold at that generation: a new
//! window end or a write re-reads the parts that changed, not a year of entries.
use entity::kpi_block;
use moka::sync::Cache;
use std::sync::Arc;

/// A part's key: (local day, municipality, part).
pub type PartKey = (String, i32, i32);

/// Parts read before, bounded by their entries' bytes (least recently used out first).
#[derive(Clone)]
pub struct KpiParts {
    parts: Option<Cache<PartKey, Arc<kpi_block::Model>>>,
}

/// Bytes a kept part costs besides its entries (key, model, cache bookkeeping).
const PART_OVERHEAD: usize = 160;

impl KpiParts {
    /// Keeps parts up to `max_bytes` of memory; 0 keeps none.
    pub fn new(max_bytes: u64) -> Self {
        let parts = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &PartKey, p: &Arc<kpi_block::Model>| {
                    u32::try_from(p.entries.len() + PART_OVERHEAD).unwrap_or(u32::MAX)
                })
                .build()
        });
        KpiParts { parts }
    }

    /// The kept part at `key`, if it is at `generation`.
    pub fn get(&self, key: &PartKey, generation: i64) -> Option<Arc<kpi_block::Model>> {
        self.parts.as_ref()?.get(key).filter(|p| p.generation == generation)
    }

    /// Keeps `part` (replacing an older generation of it).
    pub fn keep(&self, part: &Arc<kpi_block::Model>) {
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
