//! KPI math, exactly as the README's KPI section defines it, over per-complaint entries: received,
//! open, overdue, SLA compliance, first-response and resolution times (average and exact
//! percentiles with linear interpolation, as Postgres `percentile_cont`), reopened share. A group
//! with no values gives `None`, not 0.
use super::kpi_entry::{Entry, category_code, source_code};
use super::sla::{is_overdue, region_offset, response_late};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{Category, Source};

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

/// A group's running tally: counts and durations, entry by entry.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    received: u64,
    open: u64,
    overdue: u64,
    /// Responded by the first-response deadline.
    on_time: u64,
    /// Responded, or unresponded past the deadline.
    judged: u64,
    reopened: u64,
    first: Vec<i64>,
    resolution: Vec<i64>,
}

impl Tally {
    /// Counts one entry, judged at `now_us` (microseconds since the epoch).
    pub fn add(&mut self, e: &Entry, now_us: i64) {
        self.received += 1;
        self.open += u64::from(e.open);
        self.reopened += u64::from(e.reopened);
        let responded = e.first_response_ms.is_some();
        let (first_due, resolution_due) = (e.first_due_us, e.resolution_due_us);
        self.overdue += u64::from(is_overdue(e.open, responded, first_due, resolution_due, now_us));
        match e.first_response_ms {
            Some(ms) => {
                self.judged += 1;
                self.on_time += u64::from(e.on_time);
                self.first.push(ms);
            }
            None => self.judged += u64::from(response_late(false, first_due, now_us)),
        }
        self.resolution.extend(e.resolution_ms);
    }

    /// Adds another tally's entries to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.received += other.received;
        self.open += other.open;
        self.overdue += other.overdue;
        self.on_time += other.on_time;
        self.judged += other.judged;
        self.reopened += other.reopened;
        self.first.extend_from_slice(&other.first);
        self.resolution.extend_from_slice(&other.resolution);
    }

    /// Whether no entry was counted.
    pub fn is_empty(&self) -> bool {
        self.received == 0
    }

    /// The group's KPIs.
    pub fn figures(self) -> Figures {
        let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        Figures {
            received: self.received,
            open: self.open,
            overdue: self.overdue,
            sla_compliance: share(self.on_time, self.judged),
            first_response: durations(self.first),
            resolution: durations(self.resolution),
            reopened_share: share(self.reopened, self.received),
        }
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
    /// Only this municipality.
    pub municipality_id: Option<i32>,
    /// Only complaints currently assigned to this department.
    pub department_id: Option<i32>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this source.
    pub source: Option<Source>,
}

impl Selection {
    /// The selection with its bounds and codes worked out once, for a pass over many entries.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            from_us: self.from.timestamp_micros(),
            to_us: self.to.timestamp_micros(),
            municipality_id: self.municipality_id,
            department_id: self.department_id,
            category: self.category.map(category_code),
            source: self.source.map(source_code),
        }
    }
}

/// A [`Selection`] as the entries' own units: instants in microseconds, codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matcher {
    from_us: i64,
    to_us: i64,
    municipality_id: Option<i32>,
    department_id: Option<i32>,
    category: Option<u8>,
    source: Option<u8>,
}

impl Matcher {
    /// Whether an entry of `municipality_id`'s block is covered.
    pub fn keeps(&self, e: &Entry, municipality_id: i32) -> bool {
        self.municipality_id.is_none_or(|m| m == municipality_id)
            && e.received_us >= self.from_us
            && e.received_us < self.to_us
            && self.department_id.is_none_or(|d| e.department_id == Some(d))
            && self.category.is_none_or(|c| e.category == c)
            && self.source.is_none_or(|s| e.source == s)
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
    fn local_days_and_weeks_use_yekaterinburg_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(local_day(t("2026-11-29T18:59:59Z")), "2026-11-29");
        assert_eq!(local_day(t("2026-11-29T19:00:00Z")), "2026-11-30");
        let week = |s: &str| week_of_day(&local_day(t(s)));
        assert_eq!(week("2026-11-29T19:00:00Z"), "2026-W49", "Monday 30 November locally");
        assert_eq!(week("2026-11-29T18:00:00Z"), "2026-W48");
    }
}
