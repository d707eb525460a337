//! KPI math, exactly as DESIGN.md defines it, over per-complaint entries: received, open,
//! overdue, SLA compliance, first-response and resolution times (average and exact
//! percentiles with linear interpolation, as Postgres `percentile_cont`), reopened share. A
//! group with no values gives `None`, not 0.
use super::sla::region_offset;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
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

    /// Received, as an instant.
    pub fn received_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.received_us).unwrap_or_default()
    }
}

/// Every entry packed in a block.
pub fn unpack_all(block: &[u8]) -> impl Iterator<Item = Entry> + '_ {
    block.chunks_exact(ENTRY_BYTES).map(Entry::unpack)
}

/// Average and percentiles of durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    /// Arithmetic mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// The KPIs of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Complaints received in the window.
    pub received: u64,
    /// Of those, open now.
    pub open: u64,
    /// Of those, open and past a deadline now.
    pub overdue: u64,
    /// Responded on time / (responded + unresponded past the deadline).
    pub sla_compliance: Option<f64>,
    /// Received -> first public response.
    pub first_response: Option<Durations>,
    /// Received -> resolved.
    pub resolution: Option<Durations>,
    /// Share ever reopened.
    pub reopened_share: Option<f64>,
}

/// Average, p50 and p90 of millisecond durations, in seconds. Exact: ranks are selected
/// (O(n)) rather than the whole list sorted.
fn durations(mut ms: Vec<i64>) -> Option<Durations> {
    if ms.is_empty() {
        return None;
    }
    let n = ms.len();
    let sum: f64 = ms.iter().map(|&v| v as f64 / 1000.0).sum();
    let mut at = |p: f64| {
        let rank = p * (n - 1) as f64;
        let lo = rank.floor() as usize;
        let (_, &mut low, above) = ms.select_nth_unstable(lo);
        let high = if rank > lo as f64 { above.iter().copied().min().unwrap_or(low) } else { low };
        let (low, high) = (low as f64 / 1000.0, high as f64 / 1000.0);
        low + (rank - lo as f64) * (high - low)
    };
    let (p50, p90) = (at(0.5), at(0.9));
    Some(Durations { avg: sum / n as f64, p50, p90 })
}

/// The counts behind a group's shares, however they were tallied (in Rust over facts, or by
/// the database).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Complaints received in the window.
    pub received: u64,
    /// Of those, open now.
    pub open: u64,
    /// Of those, open and past a deadline now.
    pub overdue: u64,
    /// Responded by the first-response deadline.
    pub on_time: u64,
    /// Responded, or unresponded past the deadline.
    pub judged: u64,
    /// Ever reopened.
    pub reopened: u64,
}

impl Figures {
    /// The figures of a group from its counts and duration statistics.
    pub fn from_counts(
        c: Counts,
        first_response: Option<Durations>,
        resolution: Option<Durations>,
    ) -> Figures {
        let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        Figures {
            received: c.received,
            open: c.open,
            overdue: c.overdue,
            sla_compliance: share(c.on_time, c.judged),
            first_response,
            resolution,
            reopened_share: share(c.reopened, c.received),
        }
    }
}

/// A group's running tally: counts and durations, entry by entry.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    counts: Counts,
    first: Vec<i64>,
    resolution: Vec<i64>,
}

impl Tally {
    /// Counts one entry, judged at `now_us` (microseconds since the epoch).
    pub fn add(&mut self, e: &Entry, now_us: i64) {
        let c = &mut self.counts;
        c.received += 1;
        c.open += u64::from(e.open);
        c.reopened += u64::from(e.reopened);
        let silent_late = e.first_response_ms.is_none() && e.first_due_us < now_us;
        c.overdue += u64::from(e.open && (silent_late || e.resolution_due_us < now_us));
        match e.first_response_ms {
            Some(ms) => {
                c.judged += 1;
                c.on_time += u64::from(e.on_time);
                self.first.push(ms);
            }
            None => c.judged += u64::from(silent_late),
        }
        self.resolution.extend(e.resolution_ms);
    }

    /// Whether no entry was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.received == 0
    }

    /// The group's KPIs.
    pub fn figures(self) -> Figures {
        Figures::from_counts(self.counts, durations(self.first), durations(self.resolution))
    }
}

/// How KPI rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Current department (`NONE`: not routed yet).
    Department,
    /// Municipality.
    Municipality,
    /// Category.
    Category,
    /// Source.
    Source,
    /// Local day, `YYYY-MM-DD`.
    Day,
    /// ISO week of the local day, `YYYY-Www`.
    Week,
}

/// Key of the group of complaints without a department.
pub const NO_DEPARTMENT: &str = "NONE";

/// One group's figures; `key` `None` is the total over all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Group key, `None` for the total.
    pub key: Option<String>,
    /// Its KPIs.
    pub figures: Figures,
}

/// The local (Asia/Yekaterinburg) day of an instant, as `YYYY-MM-DD`.
pub fn local_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&region_offset()).format("%Y-%m-%d").to_string()
}

/// The ISO week of an instant's local day, as `YYYY-Www`.
pub fn local_week(at: DateTime<Utc>) -> String {
    week_of(at.with_timezone(&region_offset()).date_naive())
}

/// The ISO week of a `YYYY-MM-DD` day, as `YYYY-Www` (the day itself if it does not parse).
pub fn week_of_day(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_or_else(|_| day.to_owned(), week_of)
}

fn week_of(day: NaiveDate) -> String {
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// Which complaints a KPI request covers: received in `[from, to)`, and the optional filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Received at or after.
    pub from: DateTime<Utc>,
    /// Received before.
    pub to: DateTime<Utc>,
    /// Only this municipality (applied by choosing blocks).
    pub municipality_id: Option<i32>,
    /// Only complaints currently assigned to this department.
    pub department_id: Option<i32>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this source.
    pub source: Option<Source>,
}

impl Selection {
    /// Whether an entry (of a block this selection chose) is covered.
    pub fn keeps(&self, e: &Entry) -> bool {
        e.received_us >= self.from.timestamp_micros()
            && e.received_us < self.to.timestamp_micros()
            && self.department_id.is_none_or(|d| e.department_id == Some(d))
            && self.category.is_none_or(|c| e.category == category_code(c))
            && self.source.is_none_or(|s| e.source == source_code(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let d = durations(vec![40_000, 10_000, 30_000, 20_000]).expect("four values");
        assert_eq!((d.avg, d.p50, d.p90), (25.0, 25.0, 37.0));
        let one = durations(vec![5_500]).expect("one value");
        assert_eq!((one.p50, one.p90), (5.5, 5.5));
        assert_eq!(durations(Vec::new()), None);
        let ties = durations(vec![7_000, 7_000, 1_000, 7_000]).expect("ties");
        assert_eq!((ties.p50, ties.p90), (7.0, 7.0));
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

    #[test]
    fn local_days_and_weeks_use_yekaterinburg_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(local_day(t("2026-11-29T18:59:59Z")), "2026-11-29");
        assert_eq!(local_day(t("2026-11-29T19:00:00Z")), "2026-11-30");
        assert_eq!(local_week(t("2026-11-29T19:00:00Z")), "2026-W49", "Monday 30 November locally");
        assert_eq!(local_week(t("2026-11-29T18:00:00Z")), "2026-W48");
    }
}
