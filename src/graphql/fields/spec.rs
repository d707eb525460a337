//! What the registry says about one field, and the table of one object type.
use crate::auth::policy::{Access, Action, KpiGroups, RolePolicy};
use crate::graphql::complaint_row::Complaint;
use crate::store::{complaints::Columns, directory::Snapshot};
use async_graphql::{ScalarType, Value};
use chrono::{DateTime, Utc};
use entity::complaint::Column as C;

/// Who may see a field: the roles-matrix column deciding it.
pub(crate) type Rule = fn(&RolePolicy) -> Access;

/// Every role that can reach the field sees it.
pub(crate) fn everyone(_: &RolePolicy) -> Access {
    Access::Allow
}

/// Allowed to a role that may do any of `actions`, denied otherwise.
pub(crate) fn any_of(p: &RolePolicy, actions: &[Action]) -> Access {
    if actions.iter().any(|a| p.actions.contains(a)) { Access::Allow } else { Access::Deny }
}

/// Denied to a role without KPIs.
pub(crate) fn kpis(p: &RolePolicy) -> Access {
    if p.kpis == KpiGroups::Nothing { Access::Deny } else { Access::Allow }
}

/// Whether an answer holding a field may be shared through the operation cache, whose key is
/// the caller's role and row scope, the operation and its variables, under the complaints'
/// generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    /// Its value follows only what the key holds.
    Shared,
    /// Reading it is audited, or it follows something the key does not hold.
    Never,
}

/// What a complaint field reads: columns of its row and history lists of the complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Columns besides `id` (every row has it).
    pub(crate) columns: Columns,
    /// The assignments.
    pub(crate) assignments: bool,
    /// The status events.
    pub(crate) history: bool,
    /// The responses the caller may read.
    pub(crate) responses: bool,
    /// Their number.
    pub(crate) response_count: bool,
    /// The answers sent back to its source.
    pub(crate) deliveries: bool,
}

impl Reads {
    /// Only the id.
    pub(crate) const NOTHING: Reads = Reads {
        columns: Columns::NONE,
        assignments: false,
        history: false,
        responses: false,
        response_count: false,
        deliveries: false,
    };

    /// These columns.
    pub(crate) const fn columns(columns: &[C]) -> Reads {
        let (mut set, mut i) = (Columns::NONE, 0);
        while i < columns.len() {
            set = set.with(columns[i]);
            i += 1;
        }
        Reads { columns: set, ..Reads::NOTHING }
    }

    /// What either reads.
    pub(crate) const fn or(self, o: Reads) -> Reads {
        Reads {
            columns: self.columns.union(o.columns),
            assignments: self.assignments || o.assignments,
            history: self.history || o.history,
            responses: self.responses || o.responses,
            response_count: self.response_count || o.response_count,
            deliveries: self.deliveries || o.deliveries,
        }
    }

    /// Whether what a page loaded (`loaded`) holds everything this reads; lists other than
    /// the count are always the executor's.
    pub(crate) const fn loaded_in(self, loaded: Columns, counted: bool) -> bool {
        loaded.covers(self.columns)
            && !self.assignments
            && !self.history
            && !self.responses
            && !self.deliveries
            && (counted || !self.response_count)
    }
}

/// What building a value in a compiled plan needs from the request.
pub(crate) struct Eval<'a> {
    /// Texts are shown masked to this caller.
    pub(crate) masks_texts: bool,
    /// The request's instant (overdue flags).
    pub(crate) now: DateTime<Utc>,
    /// The directory references resolve in.
    pub(crate) directory: &'a Snapshot,
}

/// How a compiled page plan builds a field from an item of type `T` (`compiled.rs`).
pub(crate) enum Serve<T: 'static> {
    /// It cannot: the executor resolves the field (lists, audited or row-checked fields).
    Executor,
    /// A value the item holds.
    Value(fn(&T, &Eval<'_>) -> Value),
    /// The municipality the item refers to, built from its own table.
    Municipality(fn(&T) -> Option<i32>),
    /// The department the item refers to.
    Department(fn(&T) -> Option<i32>),
    /// The staff member the item refers to.
    Staff(fn(&T) -> Option<i64>),
    /// The item's complaint (a connection's edge).
    Complaint(fn(&T) -> Complaint),
}

/// One field of an object type whose values are `T`.
pub(crate) struct Field<T: 'static> {
    /// GraphQL name.
    pub(crate) name: &'static str,
    /// Who may see it.
    pub(crate) access: Rule,
    /// Whether answers holding it may be shared.
    pub(crate) cache: Cache,
    /// What it reads (complaint fields).
    pub(crate) reads: Reads,
    /// How a compiled plan builds it.
    pub(crate) serve: Serve<T>,
}

impl<T> Field<T> {
    /// A field that reads nothing and only the executor resolves.
    pub(crate) const fn new(name: &'static str, access: Rule, cache: Cache) -> Self {
        Field { name, access, cache, reads: Reads::NOTHING, serve: Serve::Executor }
    }

    /// The same field, reading `reads`.
    pub(crate) const fn reads(self, reads: Reads) -> Self {
        Field { reads, ..self }
    }

    /// The same field, built by plans as `serve` says.
    pub(crate) const fn serve(self, serve: Serve<T>) -> Self {
        Field { serve, ..self }
    }
}

/// The table of one object type.
pub(crate) struct Object<T: 'static> {
    /// GraphQL type name.
    pub(crate) name: &'static str,
    /// Every field of the type, once.
    pub(crate) fields: &'static [Field<T>],
}

impl<T> Object<T> {
    /// The field named `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&'static Field<T>> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// What every table tells whatever its item type: names, rules and cacheability.
pub(crate) trait Table: Sync {
    /// GraphQL type name.
    fn type_name(&self) -> &'static str;
    /// Each field's name, rule and cacheability.
    fn entries(&self) -> Vec<(&'static str, Rule, Cache)>;
}

impl<T> Table for Object<T> {
    fn type_name(&self) -> &'static str {
        self.name
    }

    fn entries(&self) -> Vec<(&'static str, Rule, Cache)> {
        self.fields.iter().map(|f| (f.name, f.access, f.cache)).collect()
    }
}

/// A string value.
pub(crate) fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// An ID value, as the `ID` scalar writes it.
pub(crate) fn id(n: impl ToString) -> Value {
    Value::String(n.to_string())
}

/// A scalar, as its GraphQL type writes it.
pub(crate) fn scalar<T: ScalarType>(v: &T) -> Value {
    ScalarType::to_value(v)
}

/// A nullable scalar.
pub(crate) fn opt<T: ScalarType>(v: Option<&T>) -> Value {
    v.map_or(Value::Null, scalar)
}
