//! Compiled resolution of complaint pages. The executor resolves every field of every row as a
//! future of its own — about fifteen per row of a list page — and on a 50-row page that
//! bookkeeping costs more CPU than the SQL. So a page's selection is planned once (each
//! response key with what goes there) and every row is built from the plan in one pass.
//!
//! How a plan builds each field is the field registry's (`fields/`): only fields it gives a
//! way to build, whose values the page already holds and that the roles matrix allows outright
//! (or shows masked: texts) are planned. A selection with anything else — history lists, the
//! author, staff contacts, arguments, a directive, a merged key — goes to the executor
//! unchanged, so the plan never has to reproduce an error or an audit. What a plan builds must equal what the executor
//! builds: `tests/api/compiled.rs` compares the two on every planned field and role.
use super::RequestCtx;
use super::complaint_row::{Complaint, ComplaintEdge};
use super::fields::{
    COMPLAINT, COMPLAINT_EDGE, DEPARTMENT, MUNICIPALITY, STAFF,
    spec::{Eval, Object, Serve},
};
use super::walk::{Fragments, Spreads, Visit, Walker};
use crate::auth::{
    Role,
    policy::{Access, masks_texts},
};
use crate::store::{complaints::Columns, directory::Snapshot};
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, SelectionSet},
    registry::Registry,
};
use entity::{department, municipality, staff};
use std::borrow::Cow;

/// One object selection on items `T`, planned: response keys in order, each with what goes
/// there.
pub(crate) struct Plan<T: 'static>(Vec<(Name, Step<T>)>);

/// What goes under one key of a planned object.
enum Step<T: 'static> {
    /// The type's name.
    Typename(&'static str),
    /// A value of the item.
    Value(fn(&T, &Eval<'_>) -> Value),
    /// A referenced municipality under its own plan.
    Municipality(fn(&T) -> Option<i32>, Plan<municipality::Model>),
    /// A referenced department.
    Department(fn(&T) -> Option<i32>, Plan<department::Model>),
    /// A referenced staff member.
    Staff(fn(&T) -> Option<i64>, Plan<staff::Model>),
    /// An edge's complaint.
    Complaint(fn(&T) -> Complaint, Plan<Complaint>),
}

/// Plans selections for one request: its fragments, the caller's role and what the page
/// loaded.
pub(crate) struct Planner<'a> {
    fragments: &'a Fragments,
    role: Role,
    /// Columns the page's rows hold.
    loaded: Columns,
    /// Whether the page counted responses.
    counted: bool,
}

impl<'a> Planner<'a> {
    /// A planner over an operation's `fragments`, for `role`, for rows read with `loaded`
    /// columns (and response counts when `counted`).
    pub(crate) fn new(
        fragments: &'a Fragments,
        role: Role,
        loaded: Columns,
        counted: bool,
    ) -> Self {
        Planner { fragments, role, loaded, counted }
    }

    /// Plans `set` on the type of `table`; `None` when anything in it needs the executor.
    fn plan<T>(&self, table: &'static Object<T>, set: &'a SelectionSet) -> Option<Plan<T>> {
        let mut planned: Vec<(Name, Step<T>)> = Vec::with_capacity(set.items.len());
        // @skip and @include were applied and removed before execution: any directive left is
        // the executor's to run, like a repeated key (it merges sub-selections), an argument,
        // or a field the matrix neither allows nor masks.
        let walker = Walker::new(self.fragments, None, Spreads::OncePerLevel);
        let planned_all = walker.level(set, &mut Vec::new(), &mut |visit, _| match visit {
            // The schema has no interfaces or unions: a fragment on an object type applies
            // to that type only, and validation refuses any other.
            Visit::Fragment { directed, on } if directed || on.is_some_and(|t| t != table.name) => {
                Err(())
            }
            Visit::Fragment { .. } => Ok(()),
            Visit::Field(f, _) => {
                let Field { alias, name, arguments, selection_set, directives } = &f.node;
                let key = alias.as_ref().unwrap_or(name).node.clone();
                let repeated = planned.iter().any(|(k, _)| *k == key);
                if repeated || !arguments.is_empty() || !directives.is_empty() {
                    return Err(());
                }
                let step = if name.node == "__typename" {
                    Step::Typename(table.name)
                } else {
                    self.step(table, name.node.as_str(), &selection_set.node).ok_or(())?
                };
                planned.push((key, step));
                Ok(())
            }
        });
        // Nothing left after @skip/@include: the executor answers null for such an object.
        if planned_all.is_err() || planned.is_empty() {
            return None;
        }
        Some(Plan(planned))
    }

    /// The step of field `name` of `table`: `None` unless the registry says a plan builds it,
    /// the matrix allows it (masked fields are the texts, which the plan masks as the
    /// resolvers do) and the page loaded what it reads.
    fn step<T>(
        &self,
        table: &'static Object<T>,
        name: &str,
        sub: &'a SelectionSet,
    ) -> Option<Step<T>> {
        let field = table.field(name)?;
        let access = (field.access)(crate::auth::policy::policy_of(self.role));
        if !matches!(access, Access::Allow | Access::Masked)
            || !field.reads.loaded_in(self.loaded, self.counted)
        {
            return None;
        }
        Some(match field.serve {
            Serve::Executor => return None,
            Serve::Value(value) => Step::Value(value),
            Serve::Municipality(to) => Step::Municipality(to, self.plan(&MUNICIPALITY, sub)?),
            Serve::Department(to) => Step::Department(to, self.plan(&DEPARTMENT, sub)?),
            Serve::Staff(to) => Step::Staff(to, self.plan(&STAFF, sub)?),
            Serve::Complaint(to) => Step::Complaint(to, self.plan(&COMPLAINT, sub)?),
        })
    }
}

impl<T> Plan<T> {
    /// `item`'s object under this plan.
    fn value(&self, item: &T, eval: &Eval<'_>) -> Value {
        let mut map = IndexMap::with_capacity(self.0.len());
        for (key, step) in &self.0 {
            map.insert(key.clone(), step.value(item, eval));
        }
        Value::Object(map)
    }

    /// A nullable object: null, or built from this plan.
    fn nullable(&self, item: Option<&T>, eval: &Eval<'_>) -> Value {
        item.map_or(Value::Null, |item| self.value(item, eval))
    }
}

impl<T> Step<T> {
    fn value(&self, item: &T, eval: &Eval<'_>) -> Value {
        let dir: &Snapshot = eval.directory;
        match self {
            Step::Typename(name) => Value::String((*name).to_owned()),
            Step::Value(value) => value(item, eval),
            Step::Municipality(to, plan) => {
                plan.nullable(to(item).and_then(|id| dir.municipality(id)).map(AsRef::as_ref), eval)
            }
            Step::Department(to, plan) => {
                plan.nullable(to(item).and_then(|id| dir.department(id)).map(AsRef::as_ref), eval)
            }
            Step::Staff(to, plan) => {
                plan.nullable(to(item).and_then(|id| dir.staff(id)).map(AsRef::as_ref), eval)
            }
            Step::Complaint(to, plan) => plan.value(&to(item), eval),
        }
    }
}

/// Lists whose items can be built from a plan: the item type's table.
pub(crate) trait Compiled: OutputType + Sized + 'static {
    /// The table of the item type.
    const TABLE: &'static Object<Self>;
    /// The complaint values of the item (what its page loaded).
    fn complaint(&self) -> Complaint;
}

impl Compiled for Complaint {
    const TABLE: &'static Object<Self> = &COMPLAINT;

    fn complaint(&self) -> Complaint {
        Complaint::new(self.row.clone(), self.related.clone())
    }
}

impl Compiled for ComplaintEdge {
    const TABLE: &'static Object<Self> = &COMPLAINT_EDGE;

    fn complaint(&self) -> Complaint {
        ComplaintEdge::complaint(self)
    }
}

/// A list field's items, built from a plan when the selection allows and by the executor
/// otherwise; to the schema it is exactly `[T!]!`.
pub struct Rows<T>(pub Vec<T>);

impl<T: Compiled> OutputType for Rows<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let Some(sample) = self.0.first() else { return Ok(Value::List(Vec::new())) };
        let req = ctx.data_unchecked::<RequestCtx>();
        // The operation's fragments are reachable only through async-graphql's hidden
        // `query_env` (the version is pinned: `=7.2.1`); the executor reads them there too.
        let sample = sample.complaint();
        let related = sample.related();
        let counted = related.response_counts.is_some();
        let planner =
            Planner::new(&ctx.query_env.fragments, req.principal.role, related.loaded, counted);
        match planner.plan(T::TABLE, &ctx.item.node) {
            Some(plan) => {
                let eval = Eval {
                    masks_texts: masks_texts(&req.principal),
                    now: req.now,
                    directory: &related.directory,
                };
                Ok(Value::List(self.0.iter().map(|item| plan.value(item, &eval)).collect()))
            }
            None => <Vec<T> as OutputType>::resolve(&self.0, ctx, field).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::{
        parse_query,
        types::{DocumentOperations, Selection},
    };
    use entity::complaint::Column as C;
    use std::collections::HashMap;

    /// A page read with its number, status and department, and response counts.
    fn loaded() -> Columns {
        [C::Number, C::Status, C::DepartmentId].into_iter().collect()
    }

    /// Whether the `nodes` selection of `query` gets a plan for `role`.
    fn planned(role: Role, query: &str) -> bool {
        let doc = parse_query(query).expect("query");
        let DocumentOperations::Single(op) = &doc.operations else { panic!("one operation") };
        let Selection::Field(root) = &op.node.selection_set.node.items[0].node else {
            panic!("a field")
        };
        let Selection::Field(nodes) = &root.node.selection_set.node.items[0].node else {
            panic!("a field")
        };
        let planner = Planner::new(&doc.fragments, role, loaded(), true);
        planner.plan(&COMPLAINT, &nodes.node.selection_set.node).is_some()
    }

    #[test]
    fn only_selections_whose_values_are_in_memory_and_allowed_are_planned() {
        let op = Role::Operator;
        let q = |node: &str| format!("{{ complaints {{ nodes {{ {node} }} }} }}");
        assert!(planned(op, &q("id n: number responseCount department { parent { code } }")));
        assert!(planned(op, &q("status __typename")));
        let spread = "{ complaints { nodes { ...F } } } fragment F on Complaint { id }";
        assert!(planned(op, spread));
        assert!(planned(op, &q("... on Complaint { id status }")));
        // Lists, the author, staff contacts: the executor's.
        for field in ["history { to }", "author { name }", "assignee { phone }"] {
            assert!(!planned(op, &q(&format!("id {field}"))), "{field}");
        }
        // A column the page did not read, a key given twice, a directive.
        assert!(!planned(op, &q("id text")));
        assert!(!planned(op, &q("isOverdue")));
        assert!(!planned(op, &q("id id")));
        assert!(!planned(op, &q("id number @deprecated")));
        // Every field skipped (the executor strips them before planning): its null.
        let no_fragments = HashMap::new();
        let planner = Planner::new(&no_fragments, op, loaded(), true);
        assert!(planner.plan(&COMPLAINT, &SelectionSet::default()).is_none());
        // A field the roles matrix does not allow outright.
        assert!(!planned(Role::Public, &q("number externalId")));
    }
}
