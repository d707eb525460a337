//! KPI math, exactly as DESIGN.md defines it, over per-complaint facts: received, open,
//! overdue, SLA compliance, first-response and resolution times (average and exact
//! percentiles with linear interpolation, as Postgres `percentile_cont`), reopened share. A
//! group with no values gives `None`, not 0.
use super::sla::{is_overdue, region_offset};
use chrono::{DateTime, Datelike, Utc};

/// What the KPIs need of one complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// Current department.
    pub department_id: Option<i32>,
    /// Municipality.
    pub municipality_id: i32,
    /// Category (stored name).
    pub category: String,
    /// Source (stored name).
    pub source: String,
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Not RESOLVED/REJECTED now.
    pub open: bool,
    /// First public response.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Its deadline.
    pub first_response_due_at: DateTime<Utc>,
    /// Resolution deadline.
    pub resolution_due_at: DateTime<Utc>,
    /// Resolved at (RESOLVED only).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Ever REOPENED.
    pub reopened: bool,
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

/// The `p` quantile (0..=1) of sorted `values` with linear interpolation between ranks.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (rank - lo as f64) * (sorted[hi] - sorted[lo]))
}

fn durations(mut values: Vec<f64>) -> Option<Durations> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let avg = values.iter().sum::<f64>() / values.len() as f64;
    Some(Durations { avg, p50: percentile(&values, 0.5)?, p90: percentile(&values, 0.9)? })
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// The KPIs of `facts` at `now`.
pub fn figures<'a>(facts: impl IntoIterator<Item = &'a Fact>, now: DateTime<Utc>) -> Figures {
    let (mut received, mut open, mut overdue, mut reopened) = (0u64, 0u64, 0u64, 0u64);
    let (mut on_time, mut judged) = (0u64, 0u64);
    let (mut first, mut resolution) = (Vec::new(), Vec::new());
    for f in facts {
        received += 1;
        open += u64::from(f.open);
        reopened += u64::from(f.reopened);
        if is_overdue(
            f.open,
            f.first_response_at,
            f.first_response_due_at,
            f.resolution_due_at,
            now,
        ) {
            overdue += 1;
        }
        match f.first_response_at {
            Some(at) => {
                judged += 1;
                on_time += u64::from(at <= f.first_response_due_at);
                first.push(seconds(f.received_at, at));
            }
            None if f.first_response_due_at < now => judged += 1,
            None => {}
        }
        if let Some(at) = f.resolved_at {
            resolution.push(seconds(f.received_at, at));
        }
    }
    let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    Figures {
        received,
        open,
        overdue,
        sla_compliance: share(on_time, judged),
        first_response: durations(first),
        resolution: durations(resolution),
        reopened_share: share(reopened, received),
    }
}

/// The local (Asia/Yekaterinburg) day of an instant, as `YYYY-MM-DD`.
pub fn local_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&region_offset()).format("%Y-%m-%d").to_string()
}

/// The ISO week of an instant's local day, as `YYYY-Www`.
pub fn local_week(at: DateTime<Utc>) -> String {
    let week = at.with_timezone(&region_offset()).date_naive().iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let v = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile(&v, 0.5), Some(25.0));
        assert_eq!(percentile(&v, 0.9), Some(37.0));
        assert_eq!(percentile(&[5.0], 0.9), Some(5.0));
        assert_eq!(percentile(&[], 0.5), None);
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
