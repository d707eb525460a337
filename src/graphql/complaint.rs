//! Complaints: the type, its nested history, the Relay connection and the root fields.
use super::compiled::Rows;
use super::complaint_row::Related;
pub use super::complaint_row::{Complaint, ComplaintEdge};
use super::directory::{
    Department, Municipality, Staff, department_by_id, department_in, municipality_in, staff_by_id,
    staff_in,
};
use super::enums::{
    Category, ComplaintOrderField, ComplaintStatus, OrderDirection, Priority, Source,
};
use super::prefetch;
use super::{ctx_db, null_with_error, parse_id, request, shown_text, snapshot};
use crate::auth::{NoteScope, policy};
use crate::error::GqlResult;
use crate::store::{
    self,
    complaints::{ComplaintFilter as StoreFilter, Shape},
    directory::Snapshot,
    pagination::{Order, OrderField, Page, PageRequest},
    scope::Scoped,
};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{assignment, complaint, response, status_event};
use std::{borrow::Cow, collections::HashMap, sync::Arc};

#[Object]
impl Complaint {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// Human-readable unique number.
    async fn number(&self) -> Result<&str> {
        Ok(&self.read("number")?.number)
    }
    /// Channel it came through.
    async fn source(&self) -> Result<Source> {
        Ok(self.read("source")?.source.into())
    }
    /// Identifier in the source system.
    #[graphql(visible = "super::visibility::complaint_external_id")]
    async fn external_id(&self) -> Result<&str> {
        Ok(&self.read("externalId")?.external_id)
    }
    /// Topic.
    async fn category(&self) -> Result<Category> {
        Ok(self.read("category")?.category.into())
    }
    /// Municipality it concerns.
    async fn municipality(&self) -> Result<Option<Municipality>> {
        let id = self.read("municipality")?.municipality_id;
        Ok(municipality_in(&self.related.directory, Some(id)))
    }
    /// The citizen's text (personal data masked for the public).
    async fn text<'a>(&'a self, ctx: &Context<'_>) -> Result<Cow<'a, str>> {
        Ok(shown_text(ctx, &self.read("text")?.text))
    }
    /// Address, when given (personal data masked for the public).
    async fn address<'a>(&'a self, ctx: &Context<'_>) -> Result<Option<Cow<'a, str>>> {
        Ok(self.read("address")?.address.as_deref().map(|a| shown_text(ctx, a)))
    }
    /// Latitude, when given.
    async fn lat(&self) -> Result<Option<f64>> {
        Ok(self.read("lat")?.lat)
    }
    /// Longitude, when given.
    async fn lon(&self) -> Result<Option<f64>> {
        Ok(self.read("lon")?.lon)
    }
    /// When it was received (UTC).
    async fn received_at(&self) -> Result<DateTime<Utc>> {
        Ok(self.read("receivedAt")?.received_at)
    }
    /// Current lifecycle state.
    async fn status(&self) -> Result<ComplaintStatus> {
        Ok(self.read("status")?.status.into())
    }
    /// Urgency.
    async fn priority(&self) -> Result<Priority> {
        Ok(self.read("priority")?.priority.into())
    }
    /// Department currently responsible.
    async fn department(&self) -> Result<Option<Department>> {
        let id = self.read("department")?.department_id;
        Ok(department_in(&self.related.directory, id))
    }
    /// Staff member currently responsible.
    async fn assignee(&self) -> Result<Option<Staff>> {
        let id = self.read("assignee")?.assignee_id;
        Ok(staff_in(&self.related.directory, id))
    }
    /// Deadline of the first public response.
    async fn first_response_due_at(&self) -> Result<DateTime<Utc>> {
        Ok(self.read("firstResponseDueAt")?.first_response_due_at)
    }
    /// Deadline of the resolution.
    async fn resolution_due_at(&self) -> Result<DateTime<Utc>> {
        Ok(self.read("resolutionDueAt")?.resolution_due_at)
    }
    /// When the first public response was given.
    async fn first_response_at(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.read("firstResponseAt")?.first_response_at)
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.read("resolvedAt")?.resolved_at)
    }
    /// Open and past a deadline now.
    async fn is_overdue(&self, ctx: &Context<'_>) -> Result<bool> {
        self.read("isOverdue")?;
        Ok(self.is_overdue_at(request(ctx).now))
    }
    /// Shown on the public portal.
    async fn is_public(&self) -> Result<bool> {
        Ok(self.read("isPublic")?.is_public)
    }
    /// Optimistic-lock version; pass it back as `expectedVersion` when changing the complaint.
    async fn version(&self) -> Result<i32> {
        Ok(self.read("version")?.version)
    }
    /// The citizen (personal data; every read is audited). A ministry sees it only while the
    /// complaint is assigned to it: otherwise null with a FORBIDDEN error.
    #[graphql(visible = "super::visibility::complaint_author")]
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        let c = self.read("author")?;
        let req = request(ctx);
        if let Err(err) = policy::check_author(&req.principal, c.department_id) {
            return Ok(null_with_error(ctx, &err));
        }
        req.record_author_read(c.id);
        let any = c.author_name.is_some()
            || c.author_phone.is_some()
            || c.author_email.is_some()
            || c.author_profile_url.is_some();
        Ok(any.then(|| Author {
            name: c.author_name.clone(),
            phone: c.author_phone.clone(),
            email: c.author_email.clone(),
            profile_url: c.author_profile_url.clone(),
        }))
    }
    /// Every routing of this complaint, oldest first.
    async fn assignments(&self) -> Result<Vec<Assignment>> {
        let rows = prefetched(&self.related.assignments, self.row.id, "assignments")?;
        Ok(rows.into_iter().flatten().cloned().map(Assignment).collect())
    }
    /// Every status transition, oldest first.
    async fn history(&self) -> Result<Vec<StatusEvent>> {
        let rows = prefetched(&self.related.events, self.row.id, "history")?;
        Ok(rows.into_iter().flatten().cloned().map(StatusEvent).collect())
    }
    /// Answers, and the internal notes the caller may read, oldest first.
    async fn responses(&self) -> Result<Vec<Response>> {
        let rows = prefetched(&self.related.responses, self.row.id, "responses")?;
        Ok(rows.into_iter().flatten().cloned().map(Response).collect())
    }
    /// Answers sent back to where the complaint came from (a connector's source), oldest
    /// first; empty for a complaint whose source takes none.
    #[graphql(visible = "super::visibility::connectors")]
    async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let rows = prefetched(&self.related.deliveries, self.row.id, "deliveries")?;
        Ok(rows.into_iter().flatten().cloned().map(Delivery).collect())
    }
    /// Number of the answers and notes the caller may read.
    async fn response_count(&self) -> Result<i64> {
        let n = prefetched(&self.related.response_counts, self.row.id, "responseCount")?;
        Ok(n.copied().unwrap_or(0))
    }
}

/// The prefetched value of a complaint's list (`None`: the complaint has none). Every place
/// that makes a `Complaint` prefetches what its selection reads, so a missing map means that
/// logic is wrong — and then an error is better than a silently empty list.
fn prefetched<'a, T>(
    lists: &'a Option<HashMap<i64, T>>,
    id: i64,
    field: &str,
) -> Result<Option<&'a T>> {
    match lists {
        Some(map) => Ok(map.get(&id)),
        None => Err(crate::Error::Internal(format!("`{field}` was not prefetched"))).gql(),
    }
}

/// Where an answer to the citizen stands on its way back to the complaint's source.
pub struct Delivery(entity::delivery::Model);

/// How far a delivery got.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(visible = "super::visibility::connectors")]
pub enum DeliveryState {
    /// Waiting to be sent, or to be sent again after a failure.
    Pending,
    /// The source took it.
    Delivered,
    /// Given up: the source refused it, or it failed too many times.
    Failed,
}

#[Object(visible = "super::visibility::connectors")]
impl Delivery {
    /// The connector whose source it goes to.
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// What it reports: RESPONDED, RESOLVED or REJECTED.
    async fn event(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.0.body)
            .ok()
            .and_then(|b| b["event"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
    /// Pending, delivered or failed.
    async fn state(&self) -> DeliveryState {
        match self.0.state.as_str() {
            store::deliveries::DELIVERED => DeliveryState::Delivered,
            store::deliveries::FAILED => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        }
    }
    /// Attempts made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the change it reports was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the source took it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// The citizen who wrote a complaint (personal data).
#[derive(SimpleObject)]
#[graphql(visible = "super::visibility::complaint_author")]
pub struct Author {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Link to the social-network profile.
    pub profile_url: Option<String>,
}

/// One routing of a complaint to a department.
pub struct Assignment(assignment::Model);

#[Object]
impl Assignment {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Department it was routed to.
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        department_by_id(ctx, Some(self.0.department_id)).await
    }
    /// Staff member it was given to.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        staff_by_id(ctx, self.0.staff_id).await
    }
    /// Who routed it: the official's login where the roles matrix shows it to the caller, the
    /// body they acted for otherwise.
    async fn assigned_by(&self, ctx: &Context<'_>) -> Result<String> {
        official(ctx, &self.0.assigned_by, self.0.actor_department_id).await
    }
    /// The body the assigner acted for: a department, an administration, or the center (ЦУР).
    async fn acting_body(&self, ctx: &Context<'_>) -> Result<String> {
        let directory = snapshot(ctx).await?;
        Ok(body_name(&directory, self.0.actor_department_id))
    }
    /// When.
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.assigned_at
    }
    /// Why (personal data masked for the public).
    async fn reason<'a>(&'a self, ctx: &Context<'_>) -> Option<Cow<'a, str>> {
        self.0.reason.as_deref().map(|r| shown_text(ctx, r))
    }
}

/// Who acted for the center (operators, routing rules, the system).
const CENTER: &str = "ЦУР";

/// The name of the body an official acted for.
fn body_name(directory: &Snapshot, department: Option<i32>) -> String {
    department
        .and_then(|d| directory.department(d))
        .map_or_else(|| CENTER.to_owned(), |d| d.name.clone())
}

/// An official's `login` as the caller may see it: the login itself where the roles matrix
/// shows the officials of `department` to the caller, else the body's name.
async fn official(ctx: &Context<'_>, login: &str, department: Option<i32>) -> Result<String> {
    let directory = snapshot(ctx).await?;
    let territory =
        department.and_then(|d| directory.department(d)).and_then(|d| d.municipality_id);
    if policy::shows_official(&request(ctx).principal, department, territory) {
        Ok(login.to_owned())
    } else {
        Ok(body_name(&directory, department))
    }
}

/// One lifecycle transition.
pub struct StatusEvent(pub status_event::Model);

#[Object]
impl StatusEvent {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// State before (none for registration).
    async fn from(&self) -> Option<ComplaintStatus> {
        self.0.from_status.map(Into::into)
    }
    /// State after.
    async fn to(&self) -> ComplaintStatus {
        self.0.to_status.into()
    }
    /// Who made the transition: the official's login where the roles matrix shows it to the
    /// caller, the body they acted for otherwise.
    async fn actor(&self, ctx: &Context<'_>) -> Result<String> {
        official(ctx, &self.0.actor, self.0.actor_department_id).await
    }
    /// The body the actor acted for: a department, an administration, or the center (ЦУР).
    async fn acting_body(&self, ctx: &Context<'_>) -> Result<String> {
        let directory = snapshot(ctx).await?;
        Ok(body_name(&directory, self.0.actor_department_id))
    }
    /// Comment (personal data masked for the public).
    async fn comment<'a>(&'a self, ctx: &Context<'_>) -> Option<Cow<'a, str>> {
        self.0.comment.as_deref().map(|c| shown_text(ctx, c))
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// An answer to the citizen or an internal note.
pub struct Response(response::Model);

#[Object]
impl Response {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Text (personal data masked for the public).
    async fn text<'a>(&'a self, ctx: &Context<'_>) -> Cow<'a, str> {
        shown_text(ctx, &self.0.text)
    }
    /// Sent to the citizen (true) or an internal note (false).
    async fn is_public(&self) -> bool {
        self.0.is_public
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Department that wrote it.
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        department_by_id(ctx, self.0.department_id).await
    }
    /// Staff member who wrote it.
    async fn staff(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        staff_by_id(ctx, self.0.staff_id).await
    }
}

/// Filters of a complaint list; all given ones must hold.
#[derive(InputObject, Default)]
#[graphql(name = "ComplaintFilter")]
pub struct ComplaintFilterInput {
    /// In this municipality.
    pub municipality_id: Option<ID>,
    /// Currently assigned to this department.
    pub department_id: Option<ID>,
    /// Of this category.
    pub category: Option<Category>,
    /// In one of these states.
    pub status: Option<Vec<ComplaintStatus>>,
    /// From this source.
    pub source: Option<Source>,
    /// Received at or after (inclusive).
    pub received_from: Option<DateTime<Utc>>,
    /// Received before (exclusive).
    pub received_to: Option<DateTime<Utc>>,
    /// Overdue now (true) or not (false).
    pub overdue: Option<bool>,
    /// Case-insensitive substring of the number, text or address.
    pub search: Option<String>,
}

impl ComplaintFilterInput {
    /// The store's filter; BAD_USER_INPUT for an id that does not parse.
    pub(crate) fn into_store(self) -> crate::Result<StoreFilter> {
        Ok(StoreFilter {
            municipality_id: self
                .municipality_id
                .map(|id| parse_id(&id, "municipalityId"))
                .transpose()?,
            department_id: self
                .department_id
                .map(|id| parse_id(&id, "departmentId"))
                .transpose()?,
            category: self.category.map(Into::into),
            status: self.status.map(|s| s.into_iter().map(Into::into).collect()),
            source: self.source.map(Into::into),
            received_from: self.received_from,
            received_to: self.received_to,
            overdue: self.overdue,
            search: self.search,
            numbers: None,
        })
    }
}

/// Order of a complaint list; ties are broken by id in the same direction.
#[derive(InputObject)]
pub struct ComplaintOrder {
    /// Column.
    #[graphql(default_with = "ComplaintOrderField::ReceivedAt")]
    pub field: ComplaintOrderField,
    /// Direction.
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

impl From<ComplaintOrder> for Order {
    fn from(o: ComplaintOrder) -> Self {
        Order {
            field: match o.field {
                ComplaintOrderField::ReceivedAt => OrderField::ReceivedAt,
                ComplaintOrderField::ResolutionDueAt => OrderField::ResolutionDueAt,
                ComplaintOrderField::Number => OrderField::Id,
            },
            ascending: o.direction == OrderDirection::Asc,
        }
    }
}

/// Relay page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More rows follow this page.
    pub has_next_page: bool,
    /// Rows precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first row.
    pub start_cursor: Option<String>,
    /// Cursor of the last row.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// Where `page` lies, with its first and last rows' cursors.
    pub fn of<T>(page: &Page<T>, cursor: impl Fn(&T) -> String) -> Self {
        PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.rows.first().map(&cursor),
            end_cursor: page.rows.last().map(&cursor),
        }
    }
}

#[Object]
impl ComplaintEdge {
    /// Opaque position of this row.
    async fn cursor(&self) -> String {
        self.cursor_string()
    }
    /// The complaint.
    async fn node(&self) -> Complaint {
        self.complaint()
    }
}

/// A page of complaints (Relay connection).
pub struct ComplaintConnection {
    page: Page<Arc<complaint::Model>>,
    related: Arc<Related>,
    order: Order,
    scoped: Scoped,
    filter: StoreFilter,
}

#[Object]
impl ComplaintConnection {
    /// Rows with cursors.
    async fn edges(&self) -> Rows<ComplaintEdge> {
        Rows(
            self.page
                .rows
                .iter()
                .map(|row| ComplaintEdge {
                    node: row.clone(),
                    order: self.order,
                    related: self.related.clone(),
                })
                .collect(),
        )
    }
    /// Rows without cursors.
    async fn nodes(&self) -> Rows<Complaint> {
        Rows(
            self.page
                .rows
                .iter()
                .map(|row| Complaint::new(row.clone(), self.related.clone()))
                .collect(),
        )
    }
    /// Where this page lies.
    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.page, |row| {
            store::complaints::cursor_of(row, self.order).encode(self.order)
        })
    }
    /// All matching complaints in the caller's scope (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let now = request(ctx).now;
        store::counts::count(ctx_db(ctx), self.scoped, &self.filter, now).await.gql()
    }
}

/// Root fields of complaints.
#[derive(Default)]
pub struct ComplaintQuery;

#[Object]
impl ComplaintQuery {
    /// One complaint in the caller's scope; NOT_FOUND otherwise.
    async fn complaint(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Complaint>> {
        let id = parse_id::<i64>(&id, "id").gql()?;
        let principal = &request(ctx).principal;
        let db = ctx_db(ctx).read();
        let wants = prefetch::selected(ctx, &[]);
        let directory = snapshot(ctx).await?;
        let (row, related) = prefetch::load_one(db, principal, id, wants, directory).await.gql()?;
        Ok(Some(Complaint::new(Arc::new(row), Arc::new(related))))
    }

    /// Complaints in the caller's scope, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)] // the Relay connection's arguments
    async fn complaints(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComplaintFilterInput>,
        order_by: Option<ComplaintOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ComplaintConnection> {
        let req = request(ctx);
        let order: Order = order_by.map(Into::into).unwrap_or_default();
        let page = PageRequest::new(
            first,
            after.as_deref(),
            last,
            before.as_deref(),
            req.max_page_size,
            order,
        )
        .gql()?;
        let filter = filter.unwrap_or_default().into_store().gql()?;
        if filter.search.is_some() {
            policy::check_search(&req.principal).gql()?;
        }
        let scoped = Scoped::of(&req.principal);
        let notes = NoteScope::of(&req.principal);
        let db = ctx_db(ctx).read();
        let wants =
            prefetch::selected(ctx, &["edges", "node"]).or(prefetch::selected(ctx, &["nodes"]));
        let shape = Shape {
            response_counts: wants.response_count.then_some(notes),
            columns: wants.columns,
        };
        let listed = store::complaints::list(db, scoped, &filter, order, page, req.now, shape)
            .await
            .gql()?;
        let counts = wants.response_count.then(|| {
            listed.rows.iter().map(|l| (l.complaint.id, l.response_count.unwrap_or(0))).collect()
        });
        let page = Page {
            rows: listed.rows.into_iter().map(|l| Arc::new(l.complaint)).collect(),
            has_next_page: listed.has_next_page,
            has_previous_page: listed.has_previous_page,
        };
        let ids: Vec<i64> = page.rows.iter().map(|c| c.id).collect();
        let directory = snapshot(ctx).await?;
        let related =
            prefetch::load(db, &req.principal, &ids, wants, counts, shape.columns, directory)
                .await
                .gql()?;
        let related = Arc::new(related);
        Ok(ComplaintConnection { page, related, order, scoped, filter })
    }
}
