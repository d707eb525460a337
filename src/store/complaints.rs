//! Complaint reads: one by id, and filtered keyset-paginated lists with their total count.
use super::pagination::{Cursor, Order, OrderField, Page, PageRequest};
use crate::{
    Error, Result,
    auth::{NoteScope, RowScope},
};
use chrono::{DateTime, Utc};
use entity::{
    Category, ComplaintStatus, Priority, Source, assignment,
    complaint::{self, Column as C},
    complaint_search,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, Order as SqlOrder, PaginatorTrait, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, LikeExpr, Query},
    sqlx,
};

/// Filters of a complaint list; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    /// In this municipality.
    pub municipality_id: Option<i32>,
    /// Currently assigned to this department.
    pub department_id: Option<i32>,
    /// Of this category.
    pub category: Option<Category>,
    /// In one of these statuses.
    pub status: Option<Vec<ComplaintStatus>>,
    /// From this source.
    pub source: Option<Source>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_to: Option<DateTime<Utc>>,
    /// Overdue now (true) or not (false).
    pub overdue: Option<bool>,
    /// Case-insensitive substring of the number, text or address.
    pub search: Option<String>,
    /// One of these numbers exactly.
    pub numbers: Option<Vec<String>>,
}

/// The row-scope condition of the roles matrix, in SQL.
pub fn scope_condition(scope: RowScope) -> Condition {
    match scope {
        RowScope::All => Condition::all(),
        RowScope::Department(dept) => Condition::any().add(C::DepartmentId.eq(dept)).add(
            C::Id.in_subquery(
                Query::select()
                    .column(assignment::Column::ComplaintId)
                    .from(assignment::Entity)
                    .and_where(Expr::col(assignment::Column::DepartmentId).eq(dept))
                    .to_owned(),
            ),
        ),
        RowScope::Municipality(muni) => Condition::all().add(C::MunicipalityId.eq(muni)),
        RowScope::PublicOnly => Condition::all().add(C::IsPublic.eq(true)),
        RowScope::Nothing => Condition::all().add(Expr::val(1).eq(0)),
    }
}

/// Open and past a deadline at `now`: the first response is late, or the resolution is.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(C::Status.is_not_in([ComplaintStatus::Resolved, ComplaintStatus::Rejected]))
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(C::FirstResponseAt.is_null())
                        .add(C::FirstResponseDueAt.lt(now)),
                )
                .add(C::ResolutionDueAt.lt(now)),
        )
}

/// Escapes LIKE wildcards so a search for "50%" means the text "50%".
fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for ch in needle.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl ComplaintFilter {
    /// The filter and the scope as one SQL condition.
    pub fn condition(&self, scope: RowScope, now: DateTime<Utc>) -> Condition {
        let mut cond = scope_condition(scope);
        if let Some(m) = self.municipality_id {
            cond = cond.add(C::MunicipalityId.eq(m));
        }
        if let Some(d) = self.department_id {
            cond = cond.add(C::DepartmentId.eq(d));
        }
        if let Some(c) = self.category {
            cond = cond.add(C::Category.eq(c));
        }
        if let Some(statuses) = &self.status {
            cond = cond.add(C::Status.is_in(statuses.iter().copied()));
        }
        if let Some(s) = self.source {
            cond = cond.add(C::Source.eq(s));
        }
        if let Some(numbers) = &self.numbers {
            cond = cond.add(C::Number.is_in(numbers.iter().cloned()));
        }
        if let Some(from) = self.received_from {
            cond = cond.add(C::ReceivedAt.gte(from));
        }
        if let Some(to) = self.received_to {
            cond = cond.add(C::ReceivedAt.lt(to));
        }
        match self.overdue {
            Some(true) => cond = cond.add(overdue_condition(now)),
            Some(false) => cond = cond.add(overdue_condition(now).not()),
            None => {}
        }
        if let Some(needle) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            cond = cond.add(
                C::Id.in_subquery(
                    Query::select()
                        .column(complaint_search::Column::ComplaintId)
                        .from(complaint_search::Entity)
                        .and_where(
                            Expr::col(complaint_search::Column::Text)
                                .like(LikeExpr::new(like_pattern(needle)).escape('\\')),
                        )
                        .to_owned(),
                ),
            );
        }
        cond
    }

    /// Rejects contradictory or oversized filters.
    pub fn validate(&self) -> Result<()> {
        if let (Some(from), Some(to)) = (self.received_from, self.received_to)
            && from > to
        {
            return Err(Error::bad_input("receivedFrom must not be after receivedTo"));
        }
        if self.search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(Error::bad_input("search is limited to 200 characters"));
        }
        if self.status.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::bad_input("status must list at least one status"));
        }
        Ok(())
    }
}

/// The text stored in `complaint_search`: what `search` matches, lower-cased the same way on
/// every backend (SQLite's LOWER and LIKE fold ASCII only).
pub fn search_text(number: &str, text: &str, address: Option<&str>) -> String {
    let mut s = String::with_capacity(number.len() + text.len() + 64);
    s.push_str(number);
    s.push('\n');
    s.push_str(text);
    if let Some(a) = address {
        s.push('\n');
        s.push_str(a);
    }
    s.to_lowercase()
}

/// One complaint in scope, or NOT_FOUND.
pub async fn get(db: &DatabaseConnection, scope: RowScope, id: i64) -> Result<complaint::Model> {
    complaint::Entity::find_by_id(id)
        .filter(scope_condition(scope))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("complaint {id}")))
}

/// The complaints of `ids` that lie in scope, by id (read from `db`: the primary after a
/// write, so the caller sees it).
pub async fn get_many(
    db: &DatabaseConnection,
    scope: RowScope,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, std::sync::Arc<complaint::Model>>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = complaint::Entity::find()
        .filter(C::Id.is_in(ids.iter().copied()))
        .filter(scope_condition(scope))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, std::sync::Arc::new(r))).collect())
}

/// The cursor of a row under `order`.
pub fn cursor_of(row: &complaint::Model, order: Order) -> Cursor {
    match order.field {
        OrderField::ReceivedAt => Cursor::at(row.received_at, row.id),
        OrderField::ResolutionDueAt => Cursor::at(row.resolution_due_at, row.id),
        OrderField::Id => Cursor { value: row.id, id: row.id },
    }
}

fn order_column(field: OrderField) -> C {
    match field {
        OrderField::ReceivedAt => C::ReceivedAt,
        OrderField::ResolutionDueAt => C::ResolutionDueAt,
        OrderField::Id => C::Id,
    }
}

/// A complaint of a list page, with its number of responses when that was asked for.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The complaint.
    pub complaint: complaint::Model,
    /// Responses and notes of it (`None` unless requested).
    pub response_count: Option<i64>,
}

// List pages decode many rows: read them straight from the sqlx row, by position. `list` selects
// the columns in `Column` order (so `C::X as usize` is X's position) and the count after them.
// sea-orm's generic path looks every column up by name and formats an error string for every
// NULL it meets, which showed up in profiles.
/// Position of `response_count`: right after the complaint's columns.
const RESPONSE_COUNT: usize = C::UpdatedAt as usize + 1;

impl FromQueryResult for Listed {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        if let Some(row) = res.try_as_pg_row() {
            return decode_listed(row);
        }
        if let Some(row) = res.try_as_sqlite_row() {
            return decode_listed(row);
        }
        Ok(Listed {
            complaint: complaint::Model::from_query_result(res, pre)?,
            response_count: res.try_get(pre, "response_count")?,
        })
    }
}

fn decode_listed<'r, R>(row: &'r R) -> Result<Listed, DbErr>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let err = |e: sqlx::Error| DbErr::Type(e.to_string());
    let text = |column: C| row.try_get::<String, _>(column as usize).map_err(err);
    let complaint = complaint::Model {
        id: row.try_get(C::Id as usize).map_err(err)?,
        number: text(C::Number)?,
        source: Source::try_from_value(&text(C::Source)?)?,
        external_id: text(C::ExternalId)?,
        category: Category::try_from_value(&text(C::Category)?)?,
        municipality_id: row.try_get(C::MunicipalityId as usize).map_err(err)?,
        text: text(C::Text)?,
        address: row.try_get(C::Address as usize).map_err(err)?,
        lat: row.try_get(C::Lat as usize).map_err(err)?,
        lon: row.try_get(C::Lon as usize).map_err(err)?,
        author_name: row.try_get(C::AuthorName as usize).map_err(err)?,
        author_phone: row.try_get(C::AuthorPhone as usize).map_err(err)?,
        author_email: row.try_get(C::AuthorEmail as usize).map_err(err)?,
        author_profile_url: row.try_get(C::AuthorProfileUrl as usize).map_err(err)?,
        received_at: row.try_get(C::ReceivedAt as usize).map_err(err)?,
        status: ComplaintStatus::try_from_value(&text(C::Status)?)?,
        priority: Priority::try_from_value(&text(C::Priority)?)?,
        department_id: row.try_get(C::DepartmentId as usize).map_err(err)?,
        assignee_id: row.try_get(C::AssigneeId as usize).map_err(err)?,
        first_response_due_at: row.try_get(C::FirstResponseDueAt as usize).map_err(err)?,
        resolution_due_at: row.try_get(C::ResolutionDueAt as usize).map_err(err)?,
        first_response_at: row.try_get(C::FirstResponseAt as usize).map_err(err)?,
        resolved_at: row.try_get(C::ResolvedAt as usize).map_err(err)?,
        is_public: row.try_get(C::IsPublic as usize).map_err(err)?,
        version: row.try_get(C::Version as usize).map_err(err)?,
        updated_at: row.try_get(C::UpdatedAt as usize).map_err(err)?,
    };
    Ok(Listed { complaint, response_count: row.try_get(RESPONSE_COUNT).map_err(err)? })
}

/// Heavy columns a list page can leave out when nobody selected them; they are read as
/// placeholders (`''` or NULL), so rows keep their shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skip {
    /// The complaint text.
    pub text: bool,
    /// The address.
    pub address: bool,
    /// The author's name, phone, e-mail and profile.
    pub author: bool,
    /// Latitude and longitude.
    pub geo: bool,
}

impl Skip {
    fn placeholder(self, column: C) -> Option<&'static str> {
        match column {
            C::Text if self.text => Some("''"),
            C::Address if self.address => Some("NULL"),
            C::AuthorName | C::AuthorPhone | C::AuthorEmail | C::AuthorProfileUrl
                if self.author =>
            {
                Some("NULL")
            }
            C::Lat | C::Lon if self.geo => Some("NULL"),
            _ => None,
        }
    }
}

/// What a list page reads besides the complaint's small columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Each row carries its count of the responses this note scope shows, from a correlated
    /// subquery in the same statement.
    pub response_counts: Option<NoteScope>,
    /// Columns left out.
    pub skip: Skip,
}

/// One page of the filtered list in scope, in one statement.
pub async fn list(
    db: &DatabaseConnection,
    scope: RowScope,
    filter: &ComplaintFilter,
    order: Order,
    page: PageRequest,
    now: DateTime<Utc>,
    shape: Shape,
) -> Result<Page<Listed>> {
    filter.validate()?;
    // Walking backwards reads the reversed order, then flips the rows back.
    let ascending = order.ascending != page.backward;
    let col = order_column(order.field);
    let mut query = complaint::Entity::find().select_only();
    for column in C::iter() {
        query = match shape.skip.placeholder(column) {
            Some(value) => query.column_as(Expr::cust(value), column.as_str()),
            None => query.column(column),
        };
    }
    query = query.filter(filter.condition(scope, now));
    if let Some(cursor) = page.cursor {
        let key = Expr::tuple([Expr::col(col), Expr::col(C::Id)]);
        let value = match order.field {
            OrderField::Id => Expr::tuple([Expr::val(cursor.value), Expr::val(cursor.id)]),
            _ => Expr::tuple([Expr::val(cursor.time()?), Expr::val(cursor.id)]),
        };
        query = query.filter(if ascending { key.gt(value) } else { key.lt(value) });
    }
    let dir = if ascending { SqlOrder::Asc } else { SqlOrder::Desc };
    if order.field != OrderField::Id {
        query = query.order_by(col, dir.clone());
    }
    let count = match shape.response_counts {
        Some(notes) => format!(
            "(SELECT COUNT(*) FROM response WHERE response.complaint_id = complaint.id AND {})",
            super::history::note_sql(notes)
        ),
        None => "CAST(NULL AS BIGINT)".to_owned(),
    };
    let mut statement = query
        .column_as(Expr::cust(count), "response_count")
        .order_by(C::Id, dir)
        .build(db.get_database_backend());
    // The limit is written into the text, not bound: with `LIMIT $n` Postgres cannot cost a
    // generic plan and re-plans the statement on every execution (about a third of its CPU
    // per page). Page sizes are validated integers, so the texts stay few.
    statement.sql.push_str(&format!(" LIMIT {}", page.limit + 1));
    let rows = Listed::find_by_statement(statement).all(db).await?;
    Ok(Page::from_overfetched(rows, page))
}

/// How many complaints in scope match the filter.
pub async fn count(
    db: &DatabaseConnection,
    scope: RowScope,
    filter: &ComplaintFilter,
    now: DateTime<Utc>,
) -> Result<u64> {
    filter.validate()?;
    Ok(complaint::Entity::find().filter(filter.condition(scope, now)).count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn list_rows_are_decoded_by_the_position_the_select_gives_them() {
        // `list` selects `C::iter()` in order, then the count: positions must agree.
        for (position, column) in C::iter().enumerate() {
            assert_eq!(column as usize, position, "{}", column.as_str());
        }
        assert_eq!(RESPONSE_COUNT, C::iter().count());
    }
}
