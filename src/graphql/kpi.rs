//! `kpis(filter, groupBy)`: response KPIs by department, municipality, category, source, local
//! day or ISO week, scoped by role — all groups for the governor and the center, a ministry's
//! own department (a municipality's own territory) plus a region-total row, region totals for
//! the public.
use super::enums::{Category, Source};
use super::{ctx_db, parse_id, request, snapshot};
use crate::auth::policy::{self, KpiScope};
use crate::cache::{Cache, Topic};
use crate::domain::kpi::{self, Durations, Figures, Selection};
use crate::error::GqlResult;
use crate::store::directory::Snapshot;
use crate::{Error, store};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Duration, Utc};

/// Longest KPI window.
const MAX_WINDOW_DAYS: i64 = 732;
/// Key of the region-total row.
pub const TOTAL_KEY: &str = "TOTAL";

/// What KPIs are computed over; `from`/`to` bound `receivedAt` (`[from, to)`).
#[derive(InputObject)]
pub struct KpiFilter {
    /// Received at or after.
    pub from: DateTime<Utc>,
    /// Received before.
    pub to: DateTime<Utc>,
    /// Only this municipality.
    pub municipality_id: Option<ID>,
    /// Only complaints currently assigned to this department.
    pub department_id: Option<ID>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this source.
    pub source: Option<Source>,
}

/// How KPI rows are grouped.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::kpi::Dimension")]
pub enum KpiDimension {
    /// Current department (`NONE`: not routed yet).
    Department,
    /// Municipality.
    Municipality,
    /// Category.
    Category,
    /// Source.
    Source,
    /// Local day (Asia/Yekaterinburg), `YYYY-MM-DD`.
    Day,
    /// ISO week of the local day, `YYYY-Www`.
    Week,
}

/// Average and percentiles of a duration, in seconds.
#[derive(SimpleObject, serde::Serialize, serde::Deserialize)]
pub struct DurationStats {
    /// Arithmetic mean.
    pub avg: f64,
    /// Median (linear interpolation, as `percentile_cont`).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

impl From<Durations> for DurationStats {
    fn from(d: Durations) -> Self {
        DurationStats { avg: d.avg, p50: d.p50, p90: d.p90 }
    }
}

/// The KPIs of one group (or of the region: key `TOTAL`).
#[derive(SimpleObject, serde::Serialize, serde::Deserialize)]
pub struct KpiRow {
    /// Group key: an id, an enum value, a day, a week, or `TOTAL`.
    pub key: String,
    /// Human-readable name of the group.
    pub label: String,
    /// Complaints received in the window.
    pub received: u64,
    /// Of those, not resolved or rejected now.
    pub open: u64,
    /// Of those, open and past a deadline now.
    pub overdue: u64,
    /// Responded on time / (responded + unresponded past the deadline); null with neither.
    pub sla_compliance: Option<f64>,
    /// Received -> first public response; null without responses.
    pub first_response: Option<DurationStats>,
    /// Received -> resolved; null without resolutions.
    pub resolution: Option<DurationStats>,
    /// Share of complaints ever reopened.
    pub reopened_share: Option<f64>,
}

fn row(key: String, label: String, f: Figures) -> KpiRow {
    KpiRow {
        key,
        label,
        received: f.received,
        open: f.open,
        overdue: f.overdue,
        sla_compliance: f.sla_compliance,
        first_response: f.first_response.map(Into::into),
        resolution: f.resolution.map(Into::into),
        reopened_share: f.reopened_share,
    }
}

fn category_label(c: &str) -> &'static str {
    match c {
        "HEALTHCARE" => "Здравоохранение",
        "SOCIAL_PROTECTION" => "Социальная защита",
        "HOUSING_UTILITIES" => "ЖКХ",
        "TRANSPORT" => "Транспорт",
        "ROADS" => "Дороги",
        "EDUCATION" => "Образование",
        "ECOLOGY" => "Экология",
        "SAFETY" => "Безопасность",
        _ => "Прочее",
    }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "VK" => "ВКонтакте",
        "TELEGRAM" => "Telegram",
        "OK" => "Одноклассники",
        "GOSUSLUGI_POS" => "Госуслуги (ПОС)",
        "HOTLINE_122" => "Горячая линия 122",
        "EMAIL" => "Электронная почта",
        "OPEN311" => "Open311",
        _ => "Другое",
    }
}

/// The label of a group key.
fn label_of(key: &str, by: KpiDimension, directory: &Snapshot) -> String {
    match by {
        KpiDimension::Department if key == kpi::NO_DEPARTMENT => "Не назначено".into(),
        KpiDimension::Department => key
            .parse()
            .ok()
            .and_then(|d| directory.department(d))
            .map_or_else(|| format!("#{key}"), |x| x.name.clone()),
        KpiDimension::Municipality => key
            .parse()
            .ok()
            .and_then(|m| directory.municipality(m))
            .map_or_else(|| format!("#{key}"), |x| x.name.clone()),
        KpiDimension::Category => category_label(key).into(),
        KpiDimension::Source => source_label(key).into(),
        KpiDimension::Day | KpiDimension::Week => key.into(),
    }
}

/// Root field `kpis`.
#[derive(Default)]
pub struct KpiQueryRoot;

#[Object]
impl KpiQueryRoot {
    /// KPIs of the complaints received in `[filter.from, filter.to)`, one row per group in key
    /// order, then the region-total row (`key: "TOTAL"`). Scoped by role.
    #[graphql(visible = "super::visibility::kpis")]
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        filter: KpiFilter,
        group_by: KpiDimension,
    ) -> Result<Vec<KpiRow>> {
        let selection = selection_of(ctx, filter)?;
        kpi_rows(ctx, &selection, group_by).await
    }
}

/// The store's KPI selection of `filter`, if the caller may ask for it: BAD_USER_INPUT for a
/// window that is empty or too long, FORBIDDEN for another department's or territory's.
pub(crate) fn selection_of(ctx: &Context<'_>, filter: KpiFilter) -> Result<Selection> {
    let req = request(ctx);
    if filter.to <= filter.from || filter.to - filter.from > Duration::days(MAX_WINDOW_DAYS) {
        let msg = format!("`to` must be after `from`, at most {MAX_WINDOW_DAYS} days later");
        return Err(Error::bad_input(msg)).gql();
    }
    let parse = |id: Option<ID>, name: &str| id.map(|i| parse_id::<i32>(&i, name)).transpose();
    let query = Selection {
        from: filter.from,
        to: filter.to,
        municipality_id: parse(filter.municipality_id, "municipalityId").gql()?,
        department_id: parse(filter.department_id, "departmentId").gql()?,
        category: filter.category.map(Into::into),
        source: filter.source.map(Into::into),
    };
    policy::check_kpi_filter(&req.principal, query.department_id, query.municipality_id).gql()?;
    Ok(query)
}

/// The KPI rows of `query` grouped by `group_by`, as the caller's KPI scope shows them.
pub(crate) async fn kpi_rows(
    ctx: &Context<'_>,
    query: &Selection,
    group_by: KpiDimension,
) -> Result<Vec<KpiRow>> {
    let req = request(ctx);
    let scope = KpiScope::of(&req.principal);
    let db = ctx_db(ctx);
    let directory = snapshot(ctx).await?;
    let now = req.now;
    // Cached per KPI scope (never per role name alone) and query; any complaint write
    // bumps the generation, so the next request after a commit recomputes.
    let parts = format!("{scope:?}|{query:?}|{group_by:?}");
    let compute = async {
        let found = store::kpis::scoped_groups(db, now, scope, query, group_by.into()).await?;
        let rows = found.into_iter().map(|g| match g.key {
            Some(key) => {
                let label = label_of(&key, group_by, &directory);
                row(key, label, g.figures)
            }
            None => row(TOTAL_KEY.into(), "Югра, всего".into(), g.figures),
        });
        Ok(rows.collect::<Vec<_>>())
    };
    let cache = ctx.data_unchecked::<Cache>();
    let rows = cache.get_or_compute(Topic::Complaints, "kpi", &parts, compute).await.gql()?;
    Ok(rows)
}
