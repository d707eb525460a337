//! `auditLog`: who read personal data of which complaint, for the center's operators.
use super::complaint::PageInfo;
use super::{ctx_db, parse_id, request};
use crate::auth::policy;
use crate::error::GqlResult;
use crate::store::{
    audit::{self, AuditFilter as StoreFilter},
    pagination::{Cursor, Order, OrderField, Page, PageRequest},
    scope::Scoped,
};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_record;

/// The log's order: newest first, by id.
const ORDER: Order = Order { field: OrderField::Id, ascending: false };

fn cursor(row: &audit_record::Model) -> String {
    Cursor { value: row.id, id: row.id }.encode(ORDER)
}

/// One read of a complaint's author.
#[derive(SimpleObject)]
#[graphql(visible = "super::visibility::audit_log")]
pub struct AuditRecord {
    /// Identifier.
    pub id: ID,
    /// Subject of the reader's token.
    pub sub: String,
    /// Role of the reader.
    pub role: String,
    /// The complaint whose author was read.
    pub complaint_id: ID,
    /// Name of the GraphQL operation, when it had one.
    pub operation: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<&audit_record::Model> for AuditRecord {
    fn from(m: &audit_record::Model) -> Self {
        AuditRecord {
            id: ID(m.id.to_string()),
            sub: m.sub.clone(),
            role: m.role.clone(),
            complaint_id: ID(m.complaint_id.to_string()),
            operation: m.operation.clone(),
            at: m.at,
        }
    }
}

/// One row of the audit log connection.
#[derive(SimpleObject)]
#[graphql(visible = "super::visibility::audit_log")]
pub struct AuditEdge {
    /// Opaque position of this row.
    pub cursor: String,
    /// The record.
    pub node: AuditRecord,
}

/// A page of the audit log (Relay connection).
pub struct AuditConnection {
    page: Page<audit_record::Model>,
    scoped: Scoped,
    filter: StoreFilter,
}

#[Object(visible = "super::visibility::audit_log")]
impl AuditConnection {
    /// Rows with cursors.
    async fn edges(&self) -> Vec<AuditEdge> {
        self.page.rows.iter().map(|r| AuditEdge { cursor: cursor(r), node: r.into() }).collect()
    }
    /// Rows without cursors.
    async fn nodes(&self) -> Vec<AuditRecord> {
        self.page.rows.iter().map(Into::into).collect()
    }
    /// Where this page lies.
    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.page, cursor)
    }
    /// All matching records.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        audit::count(ctx_db(ctx).read(), self.scoped, &self.filter).await.gql()
    }
}

/// Filters of the audit log; all given ones must hold.
#[derive(InputObject, Default)]
#[graphql(visible = "super::visibility::audit_log")]
pub struct AuditFilter {
    /// Reads by this subject.
    pub sub: Option<String>,
    /// Reads by callers of this role.
    pub role: Option<String>,
    /// Reads of this complaint.
    pub complaint_id: Option<ID>,
    /// Read at or after (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Read before (exclusive).
    pub to: Option<DateTime<Utc>>,
}

/// Root field `auditLog`.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Personal-data reads, newest first (operators only).
    #[graphql(visible = "super::visibility::audit_log")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<AuditConnection> {
        let req = request(ctx);
        policy::check_audit_log(&req.principal).gql()?;
        let page = PageRequest::new(
            first,
            after.as_deref(),
            last,
            before.as_deref(),
            req.max_page_size,
            ORDER,
        )
        .gql()?;
        let f = filter.unwrap_or_default();
        let filter = StoreFilter {
            sub: f.sub,
            role: f.role,
            complaint_id: f
                .complaint_id
                .map(|id| parse_id(&id, "complaintId"))
                .transpose()
                .gql()?,
            from: f.from,
            to: f.to,
        };
        let scoped = Scoped::of(&req.principal);
        let page = audit::list(ctx_db(ctx).read(), scoped, &filter, page).await.gql()?;
        Ok(AuditConnection { page, scoped, filter })
    }
}
