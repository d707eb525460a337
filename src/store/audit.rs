//! The audit trail of personal-data reads: written once per request for all the complaints
//! whose author it returned, and listed newest first for the operators.
use super::pagination::{Cursor, Page, PageRequest};
use super::scope::Scoped;
use crate::{Result, auth::Principal};
use chrono::{DateTime, Utc};
use entity::audit_record::{self, Column as A};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// Filters of the audit log; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Reads by this subject.
    pub sub: Option<String>,
    /// Reads by callers of this role.
    pub role: Option<String>,
    /// Reads of this complaint.
    pub complaint_id: Option<i64>,
    /// Read at or after.
    pub from: Option<DateTime<Utc>>,
    /// Read before.
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// The filter as one condition; the records of complaints outside `scoped` never match.
    fn condition(&self, backend: DbBackend, scoped: Scoped) -> Condition {
        let mut cond = Condition::all();
        if let Some(in_scope) = scoped.ids(backend, None) {
            cond = cond.add(A::ComplaintId.in_subquery(in_scope));
        }
        if let Some(sub) = &self.sub {
            cond = cond.add(A::Sub.eq(sub.as_str()));
        }
        if let Some(role) = &self.role {
            cond = cond.add(A::Role.eq(role.as_str()));
        }
        if let Some(id) = self.complaint_id {
            cond = cond.add(A::ComplaintId.eq(id));
        }
        if let Some(from) = self.from {
            cond = cond.add(A::At.gte(from));
        }
        if let Some(to) = self.to {
            cond = cond.add(A::At.lt(to));
        }
        cond
    }
}

/// Records that `principal` read the authors of `complaint_ids`, in one statement, queued
/// behind the other writers on SQLite (an unqueued write there makes a transaction that read
/// before writing fail).
pub async fn record(
    db: &super::Db,
    principal: &Principal,
    operation: Option<&str>,
    complaint_ids: &[i64],
    at: DateTime<Utc>,
) -> Result<()> {
    if complaint_ids.is_empty() {
        return Ok(());
    }
    let rows = complaint_ids.iter().map(|&complaint_id| audit_record::ActiveModel {
        id: NotSet,
        sub: Set(principal.sub.clone()),
        role: Set(principal.role.as_str().to_owned()),
        complaint_id: Set(complaint_id),
        operation: Set(operation.map(str::to_owned)),
        at: Set(at),
    });
    let _writer = db.writer_turn().await;
    audit_record::Entity::insert_many(rows).exec_without_returning(db.write()).await?;
    Ok(())
}

/// One page of the log, newest first (keyset on the id).
pub async fn list(
    db: &DatabaseConnection,
    scoped: Scoped,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<audit_record::Model>> {
    let mut query =
        audit_record::Entity::find().filter(filter.condition(db.get_database_backend(), scoped));
    if let Some(Cursor { id, .. }) = page.cursor {
        query = query.filter(if page.backward { A::Id.gt(id) } else { A::Id.lt(id) });
    }
    let query = if page.backward { query.order_by_asc(A::Id) } else { query.order_by_desc(A::Id) };
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(Page::from_overfetched(rows, page))
}

/// How many records match.
pub async fn count(db: &DatabaseConnection, scoped: Scoped, filter: &AuditFilter) -> Result<u64> {
    Ok(audit_record::Entity::find()
        .filter(filter.condition(db.get_database_backend(), scoped))
        .count(db)
        .await?)
}
