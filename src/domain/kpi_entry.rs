//! One complaint's KPI entry: what the figures need of it, and its packed 48-byte form as
//! stored in the rollup (`kpi_block`).
use chrono::{DateTime, Utc};
use entity::{Category, ComplaintStatus, Source, complaint};
use sea_orm::{FromQueryResult, QuerySelect, Select};

/// What the KPIs need of one complaint, as kept in the KPI rollup (`kpi_block`, one block of
/// entries per local day and municipality). Instants are microseconds since the epoch (as
/// stored); durations are whole milliseconds, as the figures count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Received.
    pub received_us: i64,
    /// First-response deadline.
    pub first_due_us: i64,
    /// Resolution deadline.
    pub resolution_due_us: i64,
    /// Received -> first public response.
    pub first_response_ms: Option<i64>,
    /// Received -> resolved (RESOLVED now).
    pub resolution_ms: Option<i64>,
    /// Current department.
    pub department_id: Option<i32>,
    /// Category code (index in `CATEGORIES`).
    pub category: u8,
    /// Source code (index in `SOURCES`).
    pub source: u8,
    /// Not RESOLVED/REJECTED now.
    pub open: bool,
    /// Ever REOPENED.
    pub reopened: bool,
    /// First public response by its deadline.
    pub on_time: bool,
}

/// Category codes of `Entry::category`. Codes are stored: append, never reorder.
pub const CATEGORIES: [Category; 9] = [
    Category::Healthcare,
    Category::SocialProtection,
    Category::HousingUtilities,
    Category::Transport,
    Category::Roads,
    Category::Education,
    Category::Ecology,
    Category::Safety,
    Category::Other,
];

/// Source codes of `Entry::source`. Codes are stored: append, never reorder.
pub const SOURCES: [Source; 8] = [
    Source::Vk,
    Source::Telegram,
    Source::Ok,
    Source::GosuslugiPos,
    Source::Hotline122,
    Source::Email,
    Source::Open311,
    Source::Other,
];

/// The code of a category.
pub fn category_code(c: Category) -> u8 {
    CATEGORIES.iter().position(|x| *x == c).map_or(u8::MAX, |i| i as u8)
}

/// The code of a source.
pub fn source_code(s: Source) -> u8 {
    SOURCES.iter().position(|x| *x == s).map_or(u8::MAX, |i| i as u8)
}

/// Bytes of one packed entry.
pub const ENTRY_BYTES: usize = 48;
const NONE_MS: i64 = i64::MIN;

/// The columns of a complaint an entry is made of.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Parts {
    /// Complaint id.
    pub id: i64,
    /// Municipality (the block).
    pub municipality_id: i32,
    /// Current department.
    pub department_id: Option<i32>,
    /// Category.
    pub category: Category,
    /// Source.
    pub source: Source,
    /// Status now.
    pub status: ComplaintStatus,
    /// Received.
    pub received_at: DateTime<Utc>,
    /// First public response.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Its deadline.
    pub first_response_due_at: DateTime<Utc>,
    /// Resolution deadline.
    pub resolution_due_at: DateTime<Utc>,
    /// Resolved (RESOLVED only).
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Parts {
    /// `query` narrowed to the columns of `Parts`.
    pub fn select(query: Select<complaint::Entity>) -> Select<complaint::Entity> {
        use complaint::Column as C;
        query.select_only().columns([
            C::Id,
            C::MunicipalityId,
            C::DepartmentId,
            C::Category,
            C::Source,
            C::Status,
            C::ReceivedAt,
            C::FirstResponseAt,
            C::FirstResponseDueAt,
            C::ResolutionDueAt,
            C::ResolvedAt,
        ])
    }
}

impl Entry {
    /// The entry of a complaint row.
    pub fn of(c: &complaint::Model, reopened: bool) -> Entry {
        let parts = Parts {
            id: c.id,
            municipality_id: c.municipality_id,
            department_id: c.department_id,
            category: c.category,
            source: c.source,
            status: c.status,
            received_at: c.received_at,
            first_response_at: c.first_response_at,
            first_response_due_at: c.first_response_due_at,
            resolution_due_at: c.resolution_due_at,
            resolved_at: c.resolved_at,
        };
        Entry::from_parts(&parts, reopened)
    }

    /// The entry of a complaint's KPI columns.
    pub fn from_parts(c: &Parts, reopened: bool) -> Entry {
        let ms = |at: DateTime<Utc>| (at - c.received_at).num_milliseconds();
        Entry {
            received_us: c.received_at.timestamp_micros(),
            first_due_us: c.first_response_due_at.timestamp_micros(),
            resolution_due_us: c.resolution_due_at.timestamp_micros(),
            first_response_ms: c.first_response_at.map(ms),
            resolution_ms: c.resolved_at.map(ms),
            department_id: c.department_id,
            category: category_code(c.category),
            source: source_code(c.source),
            open: c.status.is_open(),
            reopened,
            on_time: c.first_response_at.is_some_and(|at| at <= c.first_response_due_at),
        }
    }

    /// The instant (µs) after which the entry is overdue: `sla::is_overdue` holds at `now`
    /// exactly when this is before `now`. `None`: a closed complaint, never overdue.
    pub fn overdue_after(&self) -> Option<i64> {
        self.open.then(|| match self.first_response_ms {
            Some(_) => self.resolution_due_us,
            None => self.first_due_us.min(self.resolution_due_us),
        })
    }

    /// Whether the entry is overdue at `now_us` (`sla::is_overdue`).
    pub fn is_overdue_at(&self, now_us: i64) -> bool {
        self.overdue_after().is_some_and(|t| t < now_us)
    }

    /// Appends the 48-byte little-endian form to `out`.
    pub fn pack(&self, out: &mut Vec<u8>) {
        for v in [
            self.received_us,
            self.first_due_us,
            self.resolution_due_us,
            self.first_response_ms.unwrap_or(NONE_MS),
            self.resolution_ms.unwrap_or(NONE_MS),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.department_id.unwrap_or(0).to_le_bytes());
        let flags =
            u8::from(self.open) | u8::from(self.reopened) << 1 | u8::from(self.on_time) << 2;
        out.extend_from_slice(&[self.category, self.source, flags, 0]);
    }

    /// Reads one packed entry (`bytes.len() == ENTRY_BYTES`).
    pub fn unpack(bytes: &[u8]) -> Entry {
        let i64_at = |i: usize| {
            i64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes of a packed entry"))
        };
        let ms = |v: i64| (v != NONE_MS).then_some(v);
        let department =
            i32::from_le_bytes(bytes[40..44].try_into().expect("4 bytes of a packed entry"));
        let flags = bytes[46];
        Entry {
            received_us: i64_at(0),
            first_due_us: i64_at(8),
            resolution_due_us: i64_at(16),
            first_response_ms: ms(i64_at(24)),
            resolution_ms: ms(i64_at(32)),
            department_id: (department != 0).then_some(department),
            category: bytes[44],
            source: bytes[45],
            open: flags & 1 != 0,
            reopened: flags & 2 != 0,
            on_time: flags & 4 != 0,
        }
    }
}

/// Every entry packed in a block.
pub fn unpack_all(block: &[u8]) -> impl Iterator<Item = Entry> + '_ {
    block.chunks_exact(ENTRY_BYTES).map(Entry::unpack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_overdue_exactly_after_its_overdue_instant() {
        let base = Entry {
            received_us: 0,
            first_due_us: 100,
            resolution_due_us: 200,
            first_response_ms: None,
            resolution_ms: None,
            department_id: None,
            category: 0,
            source: 0,
            open: true,
            reopened: false,
            on_time: false,
        };
        for open in [true, false] {
            for responded in [None, Some(5)] {
                for (first, resolution) in [(100, 200), (300, 200), (200, 200)] {
                    let e = Entry {
                        open,
                        first_response_ms: responded,
                        first_due_us: first,
                        resolution_due_us: resolution,
                        ..base
                    };
                    for now in [0, 99, 100, 101, 199, 200, 201, 299, 300, 301] {
                        let rule = crate::domain::sla::is_overdue(
                            open,
                            responded.is_some(),
                            first,
                            resolution,
                            now,
                        );
                        assert_eq!(e.is_overdue_at(now), rule, "{e:?} at {now}");
                    }
                }
            }
        }
    }

    #[test]
    fn entries_pack_and_unpack_losslessly() {
        let e = Entry {
            received_us: 1_764_400_000_123_456,
            first_due_us: 1_764_500_000_000_001,
            resolution_due_us: -5,
            first_response_ms: Some(0),
            resolution_ms: None,
            department_id: Some(17),
            category: 8,
            source: 6,
            open: true,
            reopened: false,
            on_time: true,
        };
        let mut bytes = Vec::new();
        e.pack(&mut bytes);
        Entry { department_id: None, open: false, reopened: true, ..e }.pack(&mut bytes);
        assert_eq!(bytes.len(), 2 * ENTRY_BYTES);
        let back: Vec<Entry> = unpack_all(&bytes).collect();
        assert_eq!(back, [e, Entry { department_id: None, open: false, reopened: true, ..e }]);
    }

    #[test]
    fn every_category_and_source_has_a_code() {
        use sea_orm::Iterable;
        assert!(Category::iter().all(|c| usize::from(category_code(c)) < CATEGORIES.len()));
        assert!(Source::iter().all(|s| usize::from(source_code(s)) < SOURCES.len()));
    }
}
