//! Complaint reads: one by id, and filtered keyset-paginated lists with their total count.
use super::pagination::{Cursor, Order, OrderField, Page, PageRequest};
use super::scope::Scoped;
use crate::{Error, Result, auth::NoteScope};
use chrono::{DateTime, Utc};
use entity::{
    Category, ComplaintStatus, Priority, Source,
    complaint::{self, Column as C},
    complaint_search,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, IdenStatic,
    Iterable, Order as SqlOrder, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, LikeExpr, Query, SimpleExpr},
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

/// Not RESOLVED or REJECTED, written as constants, word for word the predicate of the partial
/// index of open complaints (`ix_complaint_open`): bound values would leave Postgres unable
/// to prove a generic plan may use the index.
const OPEN_SQL: &str = r#""complaint"."status" NOT IN ('RESOLVED', 'REJECTED')"#;

/// Open and past a deadline at `now`: the first response is late, or the resolution is.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all().add(Expr::cust(OPEN_SQL)).add(
        Condition::any()
            .add(
                Condition::all()
                    .add(C::FirstResponseAt.is_null())
                    .add(C::FirstResponseDueAt.lt(now)),
            )
            .add(C::ResolutionDueAt.lt(now)),
    )
}

/// `column` holding one of `values`, the values written into the SQL text rather than bound.
/// Bound, Postgres sees one statement for every category (or source, or status) and weighs a
/// generic plan by an average share of rows; a ministry's list page then never gets one and
/// is planned anew at each execution (0.2–0.4 ms of a page of 0.7). Each value is one of the
/// enum's own constants (no quote can occur), and there are few of them.
fn one_of<E: ActiveEnum<Value = String>>(
    column: C,
    values: impl IntoIterator<Item = E>,
) -> SimpleExpr {
    let listed: Vec<String> = values.into_iter().map(|v| format!("'{}'", v.to_value())).collect();
    if listed.is_empty() {
        // `IN ()` is no SQL: none of no values.
        return Expr::val(1).eq(0);
    }
    Expr::cust(format!(r#""complaint"."{}" IN ({})"#, column.as_str(), listed.join(", ")))
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
    /// The filter as one SQL condition: each given field narrows (the scope is AND-ed
    /// outside it, by [`Scoped`]).
    pub(super) fn condition(&self, now: DateTime<Utc>) -> Condition {
        let mut cond = Condition::all();
        if let Some(m) = self.municipality_id {
            cond = cond.add(C::MunicipalityId.eq(m));
        }
        if let Some(d) = self.department_id {
            cond = cond.add(C::DepartmentId.eq(d));
        }
        if let Some(c) = self.category {
            cond = cond.add(one_of(C::Category, [c]));
        }
        if let Some(statuses) = &self.status {
            cond = cond.add(one_of(C::Status, statuses.iter().copied()));
        }
        if let Some(s) = self.source {
            cond = cond.add(one_of(C::Source, [s]));
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

    /// Whether complaint `c` matches, as [`Self::condition`] decides in SQL (the live fan-out
    /// matches events in memory; a test holds both equal).
    pub fn matches(&self, c: &complaint::Model, now: DateTime<Utc>) -> bool {
        let overdue = || {
            crate::domain::sla::is_overdue(
                c.status.is_open(),
                c.first_response_at.is_some(),
                c.first_response_due_at,
                c.resolution_due_at,
                now,
            )
        };
        self.municipality_id.is_none_or(|m| c.municipality_id == m)
            && self.department_id.is_none_or(|d| c.department_id == Some(d))
            && self.category.is_none_or(|k| c.category == k)
            && self.status.as_ref().is_none_or(|s| s.contains(&c.status))
            && self.source.is_none_or(|s| c.source == s)
            && self.numbers.as_ref().is_none_or(|n| n.contains(&c.number))
            && self.received_from.is_none_or(|from| c.received_at >= from)
            && self.received_to.is_none_or(|to| c.received_at < to)
            && self.overdue.is_none_or(|want| overdue() == want)
            && self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).is_none_or(|n| {
                search_text(&c.number, &c.text, c.address.as_deref()).contains(&n.to_lowercase())
            })
    }

    /// Whether no field narrows (an empty search does not).
    pub fn narrows_nothing(&self) -> bool {
        let ComplaintFilter {
            municipality_id,
            department_id,
            category,
            status,
            source,
            received_from,
            received_to,
            overdue,
            search,
            numbers,
        } = self;
        municipality_id.is_none()
            && department_id.is_none()
            && category.is_none()
            && status.is_none()
            && source.is_none()
            && received_from.is_none()
            && received_to.is_none()
            && overdue.is_none()
            && search.as_deref().is_none_or(|s| s.trim().is_empty())
            && numbers.is_none()
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
pub async fn get(db: &DatabaseConnection, scoped: Scoped, id: i64) -> Result<complaint::Model> {
    scoped
        .complaints(db.get_database_backend())
        .filter(C::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("complaint {id}")))
}

/// The complaints of `ids` that lie in scope, by id (read from `db`: the primary after a
/// write, so the caller sees it).
pub async fn get_many(
    db: &DatabaseConnection,
    scoped: Scoped,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, std::sync::Arc<complaint::Model>>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = scoped
        .complaints(db.get_database_backend())
        .filter(C::Id.is_in(ids.iter().copied()))
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

/// A set of the complaint table's columns: what a list page reads. Every page reads `id`
/// and its order column besides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns(u32);

impl Columns {
    /// Every column.
    pub const ALL: Columns = Columns((1 << COLUMN_COUNT) - 1);
    /// No column.
    pub const NONE: Columns = Columns(0);

    /// This set and `column`.
    pub const fn with(self, column: C) -> Columns {
        Columns(self.0 | 1 << column as u32)
    }

    /// Whether `column` is in the set.
    pub const fn has(self, column: C) -> bool {
        self.0 & (1 << column as u32) != 0
    }

    /// Whether every column of `other` is in the set.
    pub const fn covers(self, other: Columns) -> bool {
        self.0 & other.0 == other.0
    }

    /// The columns of either set.
    pub const fn union(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    /// How many columns the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Where `column` stands in a row that selects this set in `Column` order.
    pub const fn position(self, column: C) -> Option<usize> {
        if !self.has(column) {
            return None;
        }
        Some((self.0 & ((1 << column as u32) - 1)).count_ones() as usize)
    }
}

impl Default for Columns {
    fn default() -> Self {
        Columns::ALL
    }
}

impl FromIterator<C> for Columns {
    fn from_iter<I: IntoIterator<Item = C>>(iter: I) -> Self {
        iter.into_iter().fold(Columns::NONE, Columns::with)
    }
}

/// Columns of the complaint table (`C::UpdatedAt` is the last).
const COLUMN_COUNT: u32 = C::UpdatedAt as u32 + 1;
// A column set is one bit per column.
const _: () = assert!(COLUMN_COUNT <= 32, "a complaint column set holds at most 32 columns");

/// A complaint of a list page, with its number of responses when that was asked for.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The complaint; columns the page did not read hold placeholders.
    pub complaint: complaint::Model,
    /// Responses and notes of it (`None` unless requested).
    pub response_count: Option<i64>,
}

// List pages decode many rows: read them straight from the sqlx row, by position. `list` selects
// the columns of its set in `Column` order, then the count; a page of 50 that reads the
// columns it shows instead of all 26 halves the decoding and Postgres's output work.
fn decode_listed<'r, R>(row: &'r R, columns: Columns) -> Result<Listed, DbErr>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
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
    let read = |column: C| columns.position(column);
    let err = |e: sqlx::Error| DbErr::Type(e.to_string());
    // A column of the set by its position; one outside it is its type's default.
    fn get<'r, R: sqlx::Row, T>(row: &'r R, at: Option<usize>) -> Result<T, DbErr>
    where
        usize: sqlx::ColumnIndex<R>,
        T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database> + Default,
    {
        at.map_or(Ok(T::default()), |i| row.try_get(i).map_err(|e| DbErr::Type(e.to_string())))
    }
    // Enumerations are stored as text; outside the set they are `fallback`.
    fn label<'r, R: sqlx::Row, E: ActiveEnum<Value = String>>(
        row: &'r R,
        at: Option<usize>,
        fallback: E,
    ) -> Result<E, DbErr>
    where
        usize: sqlx::ColumnIndex<R>,
        &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        match at {
            Some(i) => {
                let text: &str = row.try_get(i).map_err(|e| DbErr::Type(e.to_string()))?;
                E::try_from_value(&text.to_owned())
            }
            None => Ok(fallback),
        }
    }
    let id_at = read(C::Id).ok_or_else(|| DbErr::Custom("list rows carry their id".into()))?;
    let complaint = complaint::Model {
        id: row.try_get(id_at).map_err(err)?,
        number: get(row, read(C::Number))?,
        source: label(row, read(C::Source), Source::Vk)?,
        external_id: get(row, read(C::ExternalId))?,
        category: label(row, read(C::Category), Category::Other)?,
        municipality_id: get(row, read(C::MunicipalityId))?,
        text: get(row, read(C::Text))?,
        address: get(row, read(C::Address))?,
        lat: get(row, read(C::Lat))?,
        lon: get(row, read(C::Lon))?,
        author_name: get(row, read(C::AuthorName))?,
        author_phone: get(row, read(C::AuthorPhone))?,
        author_email: get(row, read(C::AuthorEmail))?,
        author_profile_url: get(row, read(C::AuthorProfileUrl))?,
        received_at: get(row, read(C::ReceivedAt))?,
        status: label(row, read(C::Status), ComplaintStatus::New)?,
        priority: label(row, read(C::Priority), Priority::Normal)?,
        department_id: get(row, read(C::DepartmentId))?,
        assignee_id: get(row, read(C::AssigneeId))?,
        first_response_due_at: get(row, read(C::FirstResponseDueAt))?,
        resolution_due_at: get(row, read(C::ResolutionDueAt))?,
        first_response_at: get(row, read(C::FirstResponseAt))?,
        resolved_at: get(row, read(C::ResolvedAt))?,
        is_public: get(row, read(C::IsPublic))?,
        version: get(row, read(C::Version))?,
        updated_at: get(row, read(C::UpdatedAt))?,
    };
    let count_at = columns.len();
    Ok(Listed { complaint, response_count: row.try_get(count_at).map_err(err)? })
}

/// What a list page reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Each row carries its count of the responses this note scope shows, from a correlated
    /// subquery in the same statement.
    pub response_counts: Option<NoteScope>,
    /// Columns read (placeholders stand in for the others).
    pub columns: Columns,
}

/// One page of the filtered list in scope, in one statement.
pub async fn list(
    db: &DatabaseConnection,
    scoped: Scoped,
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
    let columns = shape.columns.with(C::Id).with(col);
    let mut query = scoped.complaints(db.get_database_backend()).select_only();
    for column in C::iter().filter(|c| columns.has(*c)) {
        query = query.column(column);
    }
    query = query.filter(filter.condition(now));
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
    let rows = db
        .query_all_raw(statement)
        .await?
        .iter()
        .map(|res| {
            if let Some(row) = res.try_as_pg_row() {
                return decode_listed(row, columns);
            }
            if let Some(row) = res.try_as_sqlite_row() {
                return decode_listed(row, columns);
            }
            Err(DbErr::Custom("list pages read Postgres or SQLite rows".into()))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Page::from_overfetched(rows, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn the_open_predicate_names_the_closed_statuses_as_stored() {
        use sea_orm::ActiveEnum;
        for closed in [ComplaintStatus::Resolved, ComplaintStatus::Rejected] {
            assert!(OPEN_SQL.contains(&format!("'{}'", closed.to_value())), "{OPEN_SQL}");
        }
        assert!(ComplaintStatus::iter().filter(|s| !s.is_open()).count() == 2);
    }

    #[test]
    fn a_column_set_holds_what_it_was_given() {
        // The set is a bit per column: every column must fit.
        assert_eq!(C::iter().count() as u32, COLUMN_COUNT);
        let set: Columns = [C::Number, C::UpdatedAt].into_iter().collect();
        assert!(set.has(C::Number) && set.has(C::UpdatedAt) && !set.has(C::Id));
        assert!(Columns::ALL.covers(set) && !set.covers(Columns::ALL));
        assert!(C::iter().all(|c| Columns::ALL.has(c) && !Columns::NONE.has(c)));
        // `list` selects a set's columns in `Column` order: positions count the ones before.
        let set: Columns = [C::Id, C::Status, C::ReceivedAt, C::UpdatedAt].into_iter().collect();
        let at = |c| set.position(c);
        assert_eq!([at(C::Id), at(C::ReceivedAt), at(C::Status)], [Some(0), Some(1), Some(2)]);
        assert_eq!((at(C::UpdatedAt), at(C::Number), set.len()), (Some(3), None, 4));
        assert!(C::iter().enumerate().all(|(i, c)| Columns::ALL.position(c) == Some(i)));
    }
}
