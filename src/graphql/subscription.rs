//! `Subscription`: complaint events and KPI updates.
//!
//! async-graphql does not run these streams per socket. The live hub (`live/`) runs a
//! subscription's document once per event (or KPI tick) for each group of subscribers that
//! would get the same answer, with what to deliver in the request's data ([`Delivery`]); the
//! fields then yield that one item, resolved through the same types, field rules and audit as
//! any query. Without a delivery — the probe when a client subscribes — they check their
//! arguments, tell the hub what they want, and yield nothing.
use super::complaint::{Complaint, ComplaintFilterInput};
use super::complaint_row::Related;
use super::kpi::{KpiDimension, KpiFilter, KpiRow, kpi_rows, selection_of};
use super::{ctx_db, prefetch, request, snapshot};
use crate::auth::policy;
use crate::error::GqlResult;
use crate::store::{
    complaints::{Columns, ComplaintFilter},
    events::{Kind, Position},
};
use async_graphql::{Context, Enum, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use entity::{complaint, complaint_event};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::sync::{Arc, Mutex};

/// What a subscription wants, as its probe found it.
#[derive(Debug, Clone)]
pub(crate) enum Wanted {
    /// Complaint events matching the filter, after a cursor.
    Events {
        /// The filter, checked.
        filter: ComplaintFilter,
        /// Where to resume.
        after: Option<Position>,
    },
    /// KPI row sets.
    Kpis,
}

/// One outbox event with the complaint as it is after it.
#[derive(Debug)]
pub(crate) struct EventRow {
    /// The outbox row.
    pub(crate) event: complaint_event::Model,
    /// Its snapshot.
    pub(crate) complaint: complaint::Model,
}

/// What the subscription fields deliver in this execution.
#[derive(Clone)]
pub(crate) enum Delivery {
    /// Nothing: check the arguments and note what is wanted here.
    Probe(Arc<Mutex<Option<Wanted>>>),
    /// This event.
    Event(Arc<EventRow>),
    /// The current KPI rows.
    Kpis,
}

/// What happened to a complaint.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ComplaintEventKind {
    /// Registered.
    Created,
    /// Routed to a department, or handed to another.
    Assigned,
    /// Moved through the lifecycle.
    StatusChanged,
    /// Answered, or given an internal note.
    Responded,
    /// A deadline passed.
    Overdue,
}

impl From<Kind> for ComplaintEventKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Created => ComplaintEventKind::Created,
            Kind::Assigned => ComplaintEventKind::Assigned,
            Kind::StatusChanged => ComplaintEventKind::StatusChanged,
            Kind::Responded => ComplaintEventKind::Responded,
            Kind::OverdueFirstResponse | Kind::OverdueResolution => ComplaintEventKind::Overdue,
        }
    }
}

/// One event about a complaint in the caller's scope.
pub struct ComplaintEvent {
    cursor: String,
    kind: ComplaintEventKind,
    at: DateTime<Utc>,
    complaint: Complaint,
}

#[Object]
impl ComplaintEvent {
    /// Opaque position: pass it as `after` to resume after this event.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// What happened.
    async fn kind(&self) -> ComplaintEventKind {
        self.kind
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
    /// The complaint as it is after the event.
    async fn complaint(&self) -> &Complaint {
        &self.complaint
    }
}

/// The subscription root.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription", visible = "super::visibility::subscription_root")]
impl SubscriptionRoot {
    /// Events of the complaints in the caller's scope that match `filter` (as the complaint
    /// is after each event), in order; with `after`, first every event since that cursor. A
    /// ministry receives a complaint's events while it is assigned to it, and the
    /// reassignment that takes it away.
    async fn complaint_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComplaintFilterInput>,
        after: Option<String>,
    ) -> Result<BoxStream<'static, ComplaintEvent>> {
        let req = request(ctx);
        let filter = filter.unwrap_or_default().into_store().gql()?;
        if filter.search.is_some() {
            policy::check_search(&req.principal).gql()?;
        }
        let after = after.as_deref().map(Position::decode).transpose().gql()?;
        match ctx.data_opt::<Delivery>() {
            Some(Delivery::Event(row)) => {
                let event = complaint_event(ctx, row).await?;
                Ok(stream::once(async move { event }).boxed())
            }
            Some(Delivery::Probe(wanted)) => {
                *wanted.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Wanted::Events { filter, after });
                Ok(stream::empty().boxed())
            }
            _ => Ok(stream::empty().boxed()),
        }
    }

    /// The KPI rows of `filter` grouped by `groupBy` (as `Query.kpis` gives them): the full
    /// set first, then a fresh set whenever complaints under it change (at most once a
    /// second).
    #[graphql(visible = "super::visibility::kpis")]
    async fn kpi_updates(
        &self,
        ctx: &Context<'_>,
        filter: KpiFilter,
        group_by: KpiDimension,
    ) -> Result<BoxStream<'static, Vec<KpiRow>>> {
        let selection = selection_of(ctx, filter)?;
        match ctx.data_opt::<Delivery>() {
            Some(Delivery::Kpis) => {
                let rows = kpi_rows(ctx, &selection, group_by).await?;
                Ok(stream::once(async move { rows }).boxed())
            }
            Some(Delivery::Probe(wanted)) => {
                *wanted.lock().unwrap_or_else(|e| e.into_inner()) = Some(Wanted::Kpis);
                Ok(stream::empty().boxed())
            }
            _ => Ok(stream::empty().boxed()),
        }
    }
}

/// The event of `row`, its complaint prefetched for what the selection reads.
async fn complaint_event(ctx: &Context<'_>, row: &EventRow) -> Result<ComplaintEvent> {
    let req = request(ctx);
    let wants = prefetch::selected(ctx, &["complaint"]);
    let directory = snapshot(ctx).await?;
    let db = ctx_db(ctx).read();
    let id = row.complaint.id;
    let related: Related =
        prefetch::load(db, &req.principal, &[id], wants, None, Columns::ALL, directory)
            .await
            .gql()?;
    let kind = Kind::parse(&row.event.kind).unwrap_or(Kind::StatusChanged);
    Ok(ComplaintEvent {
        cursor: Position::of(&row.event).encode(),
        kind: kind.into(),
        at: row.event.at,
        complaint: Complaint::new(Arc::new(row.complaint.clone()), Arc::new(related)),
    })
}
