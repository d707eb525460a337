//! Response deadlines: hours for social-network incidents, working days for written appeals,
//! counted in the region's zone (Asia/Yekaterinburg, UTC+5 all year, no daylight saving).
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use entity::{Priority, Source};

/// Asia/Yekaterinburg has been UTC+5 with no DST since 2014, so a fixed offset is exact.
pub fn region_offset() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).expect("UTC+5 is a valid offset")
}

/// How a deadline amount is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Wall-clock hours from receipt.
    Hours,
    /// Working days (Mon–Fri, not a holiday) after the local day of receipt; due at the end
    /// of the last one.
    WorkingDays,
}

impl Unit {
    /// The name stored in `sla_policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::WorkingDays => "working_days",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hours" => Some(Unit::Hours),
            "working_days" => Some(Unit::WorkingDays),
            _ => None,
        }
    }
}

/// An amount of time in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// How many units.
    pub amount: i32,
    /// Which unit.
    pub unit: Unit,
}

/// A deadline rule: the fields that are `None` match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Human-readable name.
    pub name: String,
    /// Source it applies to.
    pub source: Option<Source>,
    /// Priority it applies to.
    pub priority: Option<Priority>,
    /// Time to the first public response.
    pub first_response: Span,
    /// Time to resolution.
    pub resolution: Span,
}

const fn hours(amount: i32) -> Span {
    Span { amount, unit: Unit::Hours }
}

const fn working_days(amount: i32) -> Span {
    Span { amount, unit: Unit::WorkingDays }
}

/// The default policies (see shared/domain/README.md): social-network incidents are answered
/// within 24 hours; 59-ФЗ written appeals within 30 days; feedback-platform messages within
/// a configurable 10 working days (the exact limit is not published).
pub fn default_policies() -> Vec<Policy> {
    let social = |name: &str, source| Policy {
        name: name.to_owned(),
        source: Some(source),
        priority: None,
        first_response: hours(24),
        resolution: working_days(10),
    };
    vec![
        Policy {
            name: "Критический приоритет".to_owned(),
            source: None,
            priority: Some(Priority::Critical),
            first_response: hours(4),
            resolution: working_days(3),
        },
        social("Инцидент ВКонтакте", Source::Vk),
        social("Инцидент Telegram", Source::Telegram),
        social("Инцидент Одноклассники", Source::Ok),
        social("Горячая линия 122", Source::Hotline122),
        Policy {
            name: "Обращение по 59-ФЗ (электронная почта)".to_owned(),
            source: Some(Source::Email),
            priority: None,
            first_response: hours(30 * 24),
            resolution: hours(30 * 24),
        },
        Policy {
            name: "Платформа обратной связи Госуслуг".to_owned(),
            source: Some(Source::GosuslugiPos),
            priority: None,
            first_response: working_days(10),
            resolution: working_days(10),
        },
        Policy {
            name: "Прочие каналы".to_owned(),
            source: None,
            priority: None,
            first_response: working_days(3),
            resolution: working_days(10),
        },
    ]
}

/// The most specific policy for a complaint: a priority rule beats a source rule beats the
/// catch-all. `policies` must contain a catch-all (as [`default_policies`] does).
pub fn policy_for(policies: &[Policy], source: Source, priority: Priority) -> &Policy {
    let score = |p: &Policy| -> Option<u8> {
        match (p.source, p.priority) {
            (_, Some(pr)) if pr != priority => None,
            (Some(s), _) if s != source => None,
            (_, Some(_)) => Some(3),
            (Some(_), None) => Some(2),
            (None, None) => Some(1),
        }
    };
    policies
        .iter()
        .filter_map(|p| score(p).map(|s| (s, p)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, p)| p)
        .expect("the policy list has a catch-all rule")
}

impl Policy {
    /// A policy from its stored row; `None` if a unit is not one this code knows.
    pub fn from_row(row: &entity::sla_policy::Model) -> Option<Self> {
        Some(Policy {
            name: row.name.clone(),
            source: row.source,
            priority: row.priority,
            first_response: Span {
                amount: row.first_response_amount,
                unit: Unit::parse(&row.first_response_unit)?,
            },
            resolution: Span {
                amount: row.resolution_amount,
                unit: Unit::parse(&row.resolution_unit)?,
            },
        })
    }
}

/// The working calendar: Mon–Fri except holidays.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: Vec<NaiveDate>,
}

impl Calendar {
    /// A calendar with the given non-working dates.
    pub fn new(mut holidays: Vec<NaiveDate>) -> Self {
        holidays.sort_unstable();
        Calendar { holidays }
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
            && self.holidays.binary_search(&day).is_err()
    }

    /// When `span` after `start` ends.
    pub fn due_at(&self, start: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        match span.unit {
            Unit::Hours => start + Duration::hours(i64::from(span.amount)),
            Unit::WorkingDays => {
                let offset = region_offset();
                let mut day = start.with_timezone(&offset).date_naive();
                let mut left = span.amount;
                while left > 0 {
                    day = day.succ_opt().expect("date within chrono's range");
                    if self.is_working_day(day) {
                        left -= 1;
                    }
                }
                // Due at local midnight ending that working day.
                let end = day.succ_opt().expect("date within chrono's range");
                offset
                    .from_local_datetime(&end.and_hms_opt(0, 0, 0).expect("midnight exists"))
                    .single()
                    .expect("a fixed offset has no gaps")
                    .with_timezone(&Utc)
            }
        }
    }
}

/// Unanswered past the first-response deadline at `now`.
pub fn response_late<T: PartialOrd>(responded: bool, first_response_due: T, now: T) -> bool {
    !responded && first_response_due < now
}

/// Open and past a deadline at `now`: no first response by its deadline, or not resolved by
/// the resolution deadline. Instants are `DateTime`s or the KPI rollup's microseconds. The
/// store's `overdue_condition` is the same rule in SQL.
pub fn is_overdue<T: PartialOrd + Copy>(
    open: bool,
    responded: bool,
    first_response_due: T,
    resolution_due: T,
    now: T,
) -> bool {
    open && (response_late(responded, first_response_due, now) || resolution_due < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn working_days_skip_weekends_in_local_time() {
        let cal = Calendar::default();
        // Friday 20:00 UTC is Saturday 01:00 in Yekaterinburg: the count starts on Monday.
        let due = cal.due_at(utc("2026-11-27T20:00:00Z"), working_days(1));
        assert_eq!(due, utc("2026-11-30T19:00:00Z")); // end of Monday, local midnight
        // Friday 10:00 UTC is still Friday locally: Monday is the first working day after it.
        let due = cal.due_at(utc("2026-11-27T10:00:00Z"), working_days(1));
        assert_eq!(due, utc("2026-11-30T19:00:00Z"));
    }

    #[test]
    fn holidays_are_skipped() {
        let cal = Calendar::new(vec![NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()]);
        let due = cal.due_at(utc("2026-11-30T06:00:00Z"), working_days(1));
        assert_eq!(due, utc("2026-12-02T19:00:00Z"));
    }

    #[test]
    fn most_specific_policy_wins() {
        let p = default_policies();
        assert_eq!(policy_for(&p, Source::Vk, Priority::Normal).first_response, hours(24));
        assert_eq!(policy_for(&p, Source::Vk, Priority::Critical).first_response, hours(4));
        assert_eq!(policy_for(&p, Source::Open311, Priority::Low).first_response, working_days(3));
    }
}
