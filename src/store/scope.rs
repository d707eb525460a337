//! The principal's row scope in SQL, and the only way a read of complaint rows — or of the
//! rows hanging off complaints (assignments, history, responses, audit records) — starts.
//!
//! The scope is never handed out as a condition: a [`Scoped`] value starts a complaint select
//! whose WHERE already holds the scope as its own AND-ed group, so whatever a caller adds
//! (filters, cursors, ids) can only narrow it. A filter used to be added *into* the scope's
//! OR group ("in scope OR matches the filter") and widened a ministry's rows to the region.
//!
//! A ministry's past complaints are asked of the row itself on Postgres: each complaint keeps
//! the departments it was ever assigned to (`assigned_departments`, kept by a trigger on
//! `assignment`, GIN-indexed), where a subquery over the assignment table would hash all of
//! the department's assignments on every read. SQLite, the embedded demo, asks the assignment
//! table; the boundary tests run the same principals and filters on both.
//!
//! The complaint events of the outbox have a scope of their own, from the same row scope and
//! written next to it: a ministry receives the events of complaints while they are assigned to
//! it, and the reassignment that takes one away — then nothing more of that complaint.
use crate::Result;
use crate::auth::{Principal, RowScope};
use entity::{assignment, complaint, complaint_event};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, Select, Statement,
    sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr},
};

/// Which complaint rows a read may touch: the principal's scope from the roles matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scoped {
    scope: RowScope,
}

impl Scoped {
    /// The rows `principal` may read.
    pub fn of(principal: &Principal) -> Self {
        Scoped { scope: RowScope::of(principal) }
    }

    /// Every row, for the gateway's own background work (the deadline watch, the KPI rollup):
    /// never for a caller's request.
    pub fn system() -> Self {
        Scoped { scope: RowScope::All }
    }

    /// The scope itself (cache keys carry it).
    pub fn row_scope(self) -> RowScope {
        self.scope
    }

    /// A select of the complaints in scope on `backend`; filters added to it are AND-ed with
    /// the scope.
    pub(super) fn complaints(self, backend: DbBackend) -> Select<complaint::Entity> {
        complaint::Entity::find().filter(self.condition(backend))
    }

    /// The ids of the complaints in scope (among `among`, when given), as a subquery for the
    /// rows hanging off complaints; `None` when every complaint is in scope.
    pub(super) fn ids(self, backend: DbBackend, among: Option<&[i64]>) -> Option<SelectStatement> {
        if self.scope == RowScope::All {
            return None;
        }
        let mut query = Query::select();
        query
            .column(complaint::Column::Id)
            .from(complaint::Entity)
            .cond_where(self.condition(backend));
        if let Some(ids) = among {
            query.and_where(complaint::Column::Id.is_in(ids.iter().copied()));
        }
        Some(query)
    }

    /// The scope as the KPI rollup holds it (its entries are per municipality): `Some(None)`
    /// every complaint, `Some(Some(m))` municipality `m`'s; `None` when the rollup cannot tell
    /// (a ministry's past assignments, the public flag). Beside [`Scoped::condition`], its
    /// SQL twin; the boundary matrix holds the counts of both equal.
    pub(super) fn in_rollup(self) -> Option<Option<i32>> {
        match self.scope {
            RowScope::All => Some(None),
            RowScope::Municipality(m) => Some(Some(m)),
            RowScope::Department(_) | RowScope::PublicOnly | RowScope::Nothing => None,
        }
    }

    /// How many complaints the whole scope holds, when it can be counted without the table's
    /// rows: a ministry's on Postgres. Over the table its rows lie across most pages (250–450
    /// ms for 81k of 1M); here they are the department's assignments, read index-only, plus
    /// the complaints it holds with no assignment row (none short of a hand edit; a partial
    /// index holds exactly them). `assigned_departments` is kept from the assignments by a
    /// trigger, so the two sets are disjoint and together the scope.
    pub(super) async fn whole_count(self, db: &DatabaseConnection) -> Result<Option<u64>> {
        const SQL: &str = "SELECT (SELECT COUNT(DISTINCT complaint_id) FROM assignment WHERE department_id = $1) \
            + (SELECT COUNT(*) FROM complaint WHERE department_id = $1 \
               AND NOT (assigned_departments @> ARRAY[department_id]))";
        let RowScope::Department(dept) = self.scope else { return Ok(None) };
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, SQL, [dept.into()]);
        let row = db.query_one_raw(statement).await?;
        let total: i64 = row
            .ok_or_else(|| DbErr::RecordNotFound("a count answers one row".into()))?
            .try_get_by_index(0)?;
        Ok(Some(u64::try_from(total).unwrap_or(0)))
    }

    /// A ministry's scope on Postgres as two disjoint selects whose union is the scope, so
    /// that each half is counted from its own small index (`store::counts`, an overdue
    /// count): the complaints the department holds now (`department_id = D`, the scope's
    /// first arm) and those handed on from it (`D` among the departments it was assigned to
    /// besides its current one, which implies the second arm and excludes the first).
    /// `None` for every other scope or backend.
    pub(super) fn halves(self, backend: DbBackend) -> Option<[Select<complaint::Entity>; 2]> {
        let RowScope::Department(dept) = self.scope else { return None };
        if backend != DbBackend::Postgres {
            return None;
        }
        // Word for word the expression of `ix_complaint_open_handed_on`; the department is
        // written into the text as in `ever_assigned_to`.
        let handed_on = Expr::cust(format!(
            r#"array_remove("complaint"."assigned_departments", "complaint"."department_id") @> ARRAY[{dept}]::integer[]"#
        ));
        Some([held_by(dept), handed_on].map(|half| complaint::Entity::find().filter(half)))
    }

    /// A select of the outbox events in scope, in SQL (a replay); [`Scoped::admits`] is the
    /// same rule over one event in memory (the live fan-out), and a test holds them equal.
    pub(super) fn events(self) -> Select<complaint_event::Entity> {
        use complaint_event::Column as E;
        let group = match self.scope {
            RowScope::All => Condition::all(),
            RowScope::Department(dept) => Condition::any().add(E::DepartmentId.eq(dept)).add(
                Condition::all().add(E::Kind.eq(ASSIGNED)).add(E::PreviousDepartmentId.eq(dept)),
            ),
            RowScope::Municipality(muni) => Condition::all().add(E::MunicipalityId.eq(muni)),
            RowScope::PublicOnly => Condition::all().add(E::IsPublic.eq(true)),
            RowScope::Nothing => Condition::all().add(Expr::val(1).eq(0)),
        };
        complaint_event::Entity::find().filter(Condition::all().add(group))
    }

    /// Whether the outbox event `e` is in scope.
    pub fn admits(self, e: &complaint_event::Model) -> bool {
        match self.scope {
            RowScope::All => true,
            RowScope::Department(dept) => {
                e.department_id == Some(dept)
                    || (e.kind == ASSIGNED && e.previous_department_id == Some(dept))
            }
            RowScope::Municipality(muni) => e.municipality_id == Some(muni),
            RowScope::PublicOnly => e.is_public,
            RowScope::Nothing => false,
        }
    }

    /// The scope as one closed group: `Condition::all` wrapping whatever the scope needs, so
    /// it stays one parenthesised term next to anything AND-ed after it.
    fn condition(self, backend: DbBackend) -> Condition {
        use complaint::Column as C;
        let group = match self.scope {
            RowScope::All => return Condition::all(),
            RowScope::Department(dept) => {
                Condition::any().add(held_by(dept)).add(ever_assigned_to(dept, backend))
            }
            RowScope::Municipality(muni) => Condition::all().add(C::MunicipalityId.eq(muni)),
            RowScope::PublicOnly => Condition::all().add(C::IsPublic.eq(true)),
            RowScope::Nothing => Condition::all().add(Expr::val(1).eq(0)),
        };
        Condition::all().add(group)
    }
}

/// Complaints `dept` holds now. The department is written into the text, as in
/// [`ever_assigned_to`]: with it bound, Postgres planned a ministry's list page anew at every
/// execution instead of keeping a generic plan.
fn held_by(dept: i32) -> SimpleExpr {
    Expr::cust(format!(r#""complaint"."department_id" = {dept}"#))
}

/// Complaints that were ever assigned to `dept`: on Postgres the row's own department set,
/// elsewhere the assignment table.
fn ever_assigned_to(dept: i32, backend: DbBackend) -> SimpleExpr {
    if backend == DbBackend::Postgres {
        // An integer written into the text (sea-query reads `[...]` as a quoted name, so it
        // cannot bind inside ARRAY[]); one text per department also gives each its own plan,
        // costed by its own share of the rows.
        return Expr::cust(format!(
            r#""complaint"."assigned_departments" @> ARRAY[{dept}]::integer[]"#
        ));
    }
    complaint::Column::Id.in_subquery(
        Query::select()
            .column(assignment::Column::ComplaintId)
            .from(assignment::Entity)
            .and_where(Expr::col(assignment::Column::DepartmentId).eq(dept))
            .to_owned(),
    )
}

/// The kind of a reassignment event (`store::events::Kind::Assigned`).
const ASSIGNED: &str = "ASSIGNED";

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait, sea_query::PostgresQueryBuilder};

    fn sql(scoped: Scoped, extra: Condition) -> String {
        scoped.complaints(DbBackend::Postgres).filter(extra).build(DbBackend::Postgres).to_string()
    }

    #[test]
    fn what_callers_add_is_and_ed_with_the_scope() {
        use complaint::Column as C;
        let ministry = Scoped { scope: RowScope::Department(2) };
        // Even an OR group of the caller's stays outside the scope's OR group.
        let any = Condition::any().add(C::Category.eq("ROADS")).add(C::MunicipalityId.eq(1));
        let text = sql(ministry, any);
        let scope_at = text.find(r#""department_id" = 2) OR"#).expect("the scope's OR group");
        let filter_at = text.find(r#""category" = 'ROADS' OR"#).expect("the filter's OR group");
        let between = &text[scope_at..filter_at];
        assert!(between.contains(") AND ("), "scope and filter are not AND-ed: {text}");
        let plain = sql(ministry, Condition::all().add(C::Category.eq("ROADS")));
        assert!(plain.contains(r#") AND "complaint"."category" = 'ROADS'"#), "{plain}");
        // No scope adds nothing; an empty scope matches nothing whatever is added.
        let system = sql(Scoped::system(), Condition::all());
        assert!(system.split(" WHERE ").nth(1).is_none_or(|w| w == "TRUE"), "{system}");
        let nothing = sql(Scoped { scope: RowScope::Nothing }, Condition::any());
        assert!(nothing.contains("1 = 0"), "{nothing}");
    }

    #[test]
    fn a_ministry_s_past_rows_are_asked_of_the_row_on_postgres_and_of_assignments_elsewhere() {
        let ministry = Scoped { scope: RowScope::Department(2) };
        let pg = sql(ministry, Condition::all());
        assert!(pg.contains(r#""assigned_departments" @> ARRAY[2]::integer[]"#), "{pg}");
        assert!(!pg.contains("assignment\""), "no subquery over assignments: {pg}");
        let lite = ministry.complaints(DbBackend::Sqlite).build(DbBackend::Sqlite).to_string();
        assert!(lite.contains(r#"IN (SELECT "complaint_id" FROM "assignment""#), "{lite}");
    }

    #[test]
    fn rows_hanging_off_complaints_keep_only_ids_in_scope() {
        let ministry = Scoped { scope: RowScope::Department(2) };
        let pg = DbBackend::Postgres;
        let ids =
            ministry.ids(pg, Some(&[7, 9])).expect("a subquery").to_string(PostgresQueryBuilder);
        assert!(ids.contains(r#""department_id" = 2) OR"#) && ids.contains("IN (7, 9)"), "{ids}");
        assert!(ids.contains(") AND"), "the given ids narrow the scope: {ids}");
        let all = ministry.ids(pg, None).expect("a subquery").to_string(PostgresQueryBuilder);
        assert!(all.contains(r#""department_id" = 2) OR"#), "{all}");
        assert!(Scoped::system().ids(pg, Some(&[7])).is_none(), "no scope: the ids alone decide");
    }
}
