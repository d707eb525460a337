//! KPI math, exactly as the README's KPI section defines it, over per-complaint entries: received,
//! open, overdue, SLA compliance, first-response and resolution times (average and exact
//! percentiles with linear interpolation, as Postgres `percentile_cont`), reopened share. A group
//! with no values gives `None`, not 0.
use super::kpi_entry::{Entry, category_code, source_code};
use super::kpi_sorted::{KeptDurations, SortedMs, durations_of};
use super::sla::{region_offset, response_late};
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
/// (O(n)) rather than the whole list sorted, p90 among what p50's selection left at or above
/// its rank (about half the list).
fn durations(mut ms: Vec<i64>) -> Option<Durations> {
    if ms.is_empty() {
        return None;
    }
    let n = ms.len();
    let avg = sum(&ms) / 1000.0 / n as f64;
    let rank = |p: f64| p * (n - 1) as f64;
    let p50 = ranked(&mut ms, rank(0.5));
    // Selecting rank r leaves the n - r largest values from r on, in some order.
    let from = rank(0.5).floor() as usize;
    let p90 = ranked(&mut ms[from..], rank(0.9) - from as f64);
    Some(Durations { avg, p50, p90 })
}

/// The value at fractional `rank` of `ms` (linear between the two ranks around it, as
/// Postgres' `percentile_cont`), in seconds; reorders `ms`.
fn ranked(ms: &mut [i64], rank: f64) -> f64 {
    let lo = rank.floor() as usize;
    let (_, &mut low, above) = ms.select_nth_unstable(lo);
    let high = if rank > lo as f64 { above.iter().copied().min().unwrap_or(low) } else { low };
    let (low, high) = (low as f64 / 1000.0, high as f64 / 1000.0);
    low + (rank - lo as f64) * (high - low)
}

/// The sum of `ms` as a float, in four running sums: one chain of additions waits on each
/// add in turn (it was an eighth of a year's KPI request).
fn sum(ms: &[i64]) -> f64 {
    let mut lanes = [0f64; 4];
    let chunks = ms.chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v as f64;
        }
    }
    lanes.iter().sum::<f64>() + rest
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
        // One rule with `Summary`: overdue after the entry's overdue instant.
        self.overdue += u64::from(e.is_overdue_at(now_us));
        match e.first_response_ms {
            Some(ms) => {
                self.judged += 1;
                self.on_time += u64::from(e.on_time);
                self.first.push(ms);
            }
            None => self.judged += u64::from(response_late(false, e.first_due_us, now_us)),
        }
        self.resolution.extend(e.resolution_ms);
    }

    /// Room for `first` and `resolution` more durations, made once (growing a year's million
    /// by doubling copied them again and again).
    pub fn reserve(&mut self, first: usize, resolution: usize) {
        self.first.reserve(first);
        self.resolution.reserve(resolution);
    }

    /// How many first-response and resolution durations it holds.
    pub fn lengths(&self) -> (usize, usize) {
        (self.first.len(), self.resolution.len())
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

    /// Adds a group's summary, judged at `now_us`: the same as adding its entries one by one.
    pub fn add_summary(&mut self, s: &Summary, now_us: i64) {
        self.add_summary_counts(s, now_us);
        self.first.extend_from_slice(&s.first);
        self.resolution.extend_from_slice(&s.resolution);
    }

    /// Adds a group's summary but not its durations (kept sorted elsewhere: see
    /// [`Tally::figures_over`]).
    pub fn add_summary_counts(&mut self, s: &Summary, now_us: i64) {
        let before = |sorted: &[i64]| sorted.partition_point(|&t| t < now_us) as u64;
        self.received += s.received;
        self.open += s.open;
        self.reopened += s.reopened;
        self.on_time += s.on_time;
        self.overdue += before(&s.overdue_after);
        self.judged += s.answered + before(&s.late_after);
    }

    /// Whether no entry was counted.
    pub fn is_empty(&self) -> bool {
        self.received == 0
    }

    /// The group's KPIs, its durations together with `kept` (those of summaries added by
    /// [`Tally::add_summary_counts`], sorted before).
    pub fn figures_over(self, kept: &[&KeptDurations]) -> Figures {
        let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        let of = |ms: Vec<i64>, pick: fn(&KeptDurations) -> &SortedMs| {
            let kept: Vec<&SortedMs> =
                kept.iter().map(|k| pick(k)).filter(|s| !s.is_empty()).collect();
            // Nothing kept: selecting among the values beats sorting them.
            if kept.is_empty() { durations(ms) } else { durations_of(&kept, ms) }
        };
        Figures {
            received: self.received,
            open: self.open,
            overdue: self.overdue,
            sla_compliance: share(self.on_time, self.judged),
            first_response: of(self.first, |k| &k.first),
            resolution: of(self.resolution, |k| &k.resolution),
            reopened_share: share(self.reopened, self.received),
        }
    }
}

/// A group's entries tallied once, for any `now`: the counts that do not change with time,
/// the durations, and the sorted instants after which entries are overdue or unanswered
/// past their deadline. A part of a day inside a window adds it whole ([`Tally::add_summary`])
/// instead of a pass over its entries.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    received: u64,
    open: u64,
    reopened: u64,
    on_time: u64,
    /// Entries with a first response (their durations may be kept apart).
    answered: u64,
    /// Ascending [`Entry::overdue_after`] of the open entries.
    overdue_after: Vec<i64>,
    /// Ascending first-response deadlines of the unanswered entries.
    late_after: Vec<i64>,
    first: Vec<i64>,
    resolution: Vec<i64>,
}

impl Summary {
    /// Its first-response and resolution durations, in no order.
    pub fn durations(&self) -> (&[i64], &[i64]) {
        (&self.first, &self.resolution)
    }

    /// The summary of `entries`.
    pub fn of(entries: impl Iterator<Item = Entry>) -> Summary {
        let mut s = Summary::default();
        for e in entries {
            s.received += 1;
            s.open += u64::from(e.open);
            s.reopened += u64::from(e.reopened);
            s.overdue_after.extend(e.overdue_after());
            match e.first_response_ms {
                Some(ms) => {
                    s.on_time += u64::from(e.on_time);
                    s.answered += 1;
                    s.first.push(ms);
                }
                None => s.late_after.push(e.first_due_us),
            }
            s.resolution.extend(e.resolution_ms);
        }
        s.overdue_after.sort_unstable();
        s.late_after.sort_unstable();
        for v in [&mut s.overdue_after, &mut s.late_after, &mut s.first, &mut s.resolution] {
            v.shrink_to_fit();
        }
        s
    }

    /// The counts and deadline instants of `summaries` together, without their durations
    /// (kept sorted apart: [`KeptDurations`]).
    pub fn counts_of<'a>(summaries: impl Iterator<Item = &'a Summary>) -> Summary {
        let mut s = Summary::default();
        for x in summaries {
            s.received += x.received;
            s.open += x.open;
            s.reopened += x.reopened;
            s.on_time += x.on_time;
            s.answered += x.answered;
            s.overdue_after.extend_from_slice(&x.overdue_after);
            s.late_after.extend_from_slice(&x.late_after);
        }
        s.overdue_after.sort_unstable();
        s.late_after.sort_unstable();
        s
    }

    /// Bytes its lists hold.
    pub fn bytes(&self) -> usize {
        let lists = [&self.overdue_after, &self.late_after, &self.first, &self.resolution];
        lists.iter().map(|l| l.len() * size_of::<i64>()).sum()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        self.keeps_group(municipality_id, e.department_id)
            && e.received_us >= self.from_us
            && e.received_us < self.to_us
            && self.category.is_none_or(|c| e.category == c)
            && self.source.is_none_or(|s| e.source == s)
    }

    /// The matcher without its window: all that decides, for a matcher that
    /// [`Matcher::judges_groups`], which groups of a day inside the window it covers.
    pub fn untimed(self) -> Matcher {
        Matcher { from_us: 0, to_us: 0, ..self }
    }

    /// Whether it asks only what a department group of one block fixes (no category, no
    /// source): then [`Matcher::keeps_group`] judges a group of a day inside the window.
    pub fn judges_groups(&self) -> bool {
        self.category.is_none() && self.source.is_none()
    }

    /// For a group of one department (`None`: not routed) in a block of `municipality_id`
    /// whose day lies inside the window, of a matcher that [`Matcher::judges_groups`]:
    /// whether it is covered whole.
    pub fn keeps_group(&self, municipality_id: i32, department_id: Option<i32>) -> bool {
        self.municipality_id.is_none_or(|m| m == municipality_id)
            && self.department_id.is_none_or(|d| department_id == Some(d))
    }
}

/// The percentile `p` of ascending `sorted` ms, in seconds, as `percentile_cont` defines it:
/// the reference the selections are tested against.
#[cfg(test)]
pub(crate) fn percentile_of_sorted(sorted: &[i64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
    let (low, high) = (lo as f64 / 1000.0, hi as f64 / 1000.0);
    low + (rank - rank.floor()) * (high - low)
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
    fn percentiles_equal_those_of_the_sorted_list_at_every_length() {
        // Against a sort: p90 is selected among what p50's selection left, with ties and
        // both even and odd lengths.
        let mut seed = 7_u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as i64
        };
        for n in 1..300 {
            let ms: Vec<i64> = (0..n).map(|_| next() % 50 * 1000 + next() % 7).collect();
            let mut sorted = ms.clone();
            sorted.sort_unstable();
            let at = |p: f64| percentile_of_sorted(&sorted, p);
            let avg = ms.iter().sum::<i64>() as f64 / 1000.0 / n as f64;
            let d = durations(ms).expect("values");
            assert_eq!((d.p50, d.p90), (at(0.5), at(0.9)), "n = {n}");
            assert!((d.avg - avg).abs() < 1e-9, "n = {n}: {} against {avg}", d.avg);
        }
    }

    #[test]
    fn a_summary_adds_up_to_its_entries_one_by_one_at_any_instant() {
        let mut entries = Vec::new();
        for open in [true, false] {
            for first_response_ms in [None, Some(7), Some(90)] {
                for (first_due_us, resolution_due_us) in [(100, 200), (300, 200), (200, 200)] {
                    for (reopened, on_time) in [(false, true), (true, false)] {
                        entries.push(Entry {
                            received_us: 0,
                            first_due_us,
                            resolution_due_us,
                            first_response_ms,
                            resolution_ms: (!open).then_some(first_due_us / 2),
                            department_id: Some(3),
                            category: 1,
                            source: 2,
                            open,
                            reopened,
                            on_time: on_time && first_response_ms.is_some(),
                        });
                    }
                }
            }
        }
        let summary = Summary::of(entries.iter().copied());
        for now in [0, 99, 100, 101, 199, 200, 201, 299, 300, 301] {
            let mut one_by_one = Tally::default();
            entries.iter().for_each(|e| one_by_one.add(e, now));
            let mut whole = Tally::default();
            whole.add_summary(&summary, now);
            let (by_entry, by_summary) = (one_by_one.figures_over(&[]), whole.figures_over(&[]));
            assert_eq!(by_summary, by_entry, "at {now}");
            // Its counts added, its durations kept sorted: the same figures.
            let mut counted = Tally::default();
            counted.add_summary_counts(&summary, now);
            let kept = KeptDurations::of([&summary].into_iter());
            assert_eq!(counted.figures_over(&[&kept]), by_entry, "at {now}, durations kept");
            // In two pieces, their counts merged, their durations kept sorted: the same again.
            let (a, b) = entries.split_at(entries.len() / 3);
            let pieces = [Summary::of(a.iter().copied()), Summary::of(b.iter().copied())];
            let mut merged = Tally::default();
            merged.add_summary_counts(&Summary::counts_of(pieces.iter()), now);
            let kept = KeptDurations::of(pieces.iter());
            assert_eq!(merged.figures_over(&[&kept]), by_entry, "at {now}, merged");
        }
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
