//! Compiled resolution of complaint pages. The executor resolves every field of every row as a
//! future of its own — about fifteen per row of a list page — and on a 50-row page that
//! bookkeeping costs more CPU than the SQL. So a page's selection is planned once (each
//! response key with what goes there) and every row is built from the plan in one pass.
//!
//! Only fields whose values are already in memory and that the roles matrix allows outright
//! (or shows masked: texts) are planned. A selection with anything else — history lists, the author, staff contacts,
//! arguments, a directive, a merged key — goes to the executor unchanged, so the plan never
//! has to reproduce an error or an audit. What a plan builds must equal what the executor
//! builds: `tests/api/compiled.rs` compares the two on every planned field and role.
use super::RequestCtx;
use super::complaint_row::{Complaint, ComplaintEdge};
use super::prefetch::columns_of;
use super::walk::{Fragments, Spreads, Visit, Walker};
use crate::auth::{
    Role,
    policy::{Access, field_access, masks_texts},
};
use crate::store::directory::Snapshot;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, SelectionSet},
    registry::Registry,
    resolver_utils::enum_value,
};
use chrono::{DateTime, Utc};
use entity::{department, municipality, staff};
use std::borrow::Cow;

/// One object selection, planned: response keys in order, each with what goes there.
#[derive(Debug)]
pub struct Plan<F>(Vec<(Name, F)>);

/// Plans selections for one request: its fragments and the caller's role.
pub struct Planner<'a> {
    fragments: &'a Fragments,
    role: Role,
}

impl<'a> Planner<'a> {
    /// A planner over an operation's `fragments`, for `role`.
    pub fn new(fragments: &'a Fragments, role: Role) -> Self {
        Planner { fragments, role }
    }

    /// Plans `set` on the object type `type_name`, `field` planning each field from its name
    /// and sub-selection; `None` when anything in it needs the executor.
    fn plan<F>(
        &self,
        type_name: &str,
        set: &'a SelectionSet,
        field: &impl Fn(&Self, &str, &'a SelectionSet) -> Option<F>,
    ) -> Option<Plan<F>> {
        let mut planned: Vec<(Name, F)> = Vec::with_capacity(set.items.len());
        // @skip and @include were applied and removed before execution: any directive left is
        // the executor's to run, like a repeated key (it merges sub-selections), an argument,
        // or a field the matrix neither allows nor masks.
        let walker = Walker::new(self.fragments, None, Spreads::OncePerLevel);
        let planned_all = walker.level(set, &mut Vec::new(), &mut |visit, _| match visit {
            // The schema has no interfaces or unions: a fragment on an object type applies
            // to that type only, and validation refuses any other.
            Visit::Fragment { directed, on } if directed || on.is_some_and(|t| t != type_name) => {
                Err(())
            }
            Visit::Fragment { .. } => Ok(()),
            Visit::Field(f, _) => {
                let Field { alias, name, arguments, selection_set, directives } = &f.node;
                let key = alias.as_ref().unwrap_or(name).node.clone();
                let name = name.node.as_str();
                let repeated = planned.iter().any(|(k, _)| *k == key);
                // Masked fields are the texts, which the plan masks as the resolvers do
                // (`tests/api/compiled.rs` compares both for the public).
                let allowed = name == "__typename"
                    || matches!(
                        field_access(self.role, type_name, name),
                        Access::Allow | Access::Masked
                    );
                if repeated || !allowed || !arguments.is_empty() || !directives.is_empty() {
                    return Err(());
                }
                planned.push((key, field(self, name, &selection_set.node).ok_or(())?));
                Ok(())
            }
        });
        // Nothing left after @skip/@include: the executor answers null for such an object.
        if planned_all.is_err() || planned.is_empty() {
            return None;
        }
        Some(Plan(planned))
    }
}

/// What building a row's value needs from the request.
pub struct Eval {
    /// Texts are shown masked to this caller.
    masks_texts: bool,
    /// The request's instant (overdue flags).
    now: DateTime<Utc>,
}

/// An object from `plan`, `value` giving each planned field's value.
fn object<F>(plan: &Plan<F>, value: impl Fn(&F) -> Value) -> Value {
    let mut map = IndexMap::with_capacity(plan.0.len());
    for (key, field) in &plan.0 {
        map.insert(key.clone(), value(field));
    }
    Value::Object(map)
}

/// A nullable object: null, or built from `plan`.
fn nullable<T, F>(item: Option<&T>, plan: &Plan<F>, value: impl Fn(&T, &F) -> Value) -> Value {
    item.map_or(Value::Null, |item| object(plan, |f| value(item, f)))
}

/// A string value.
fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// An ID value, as the `ID` scalar writes it.
fn id(n: impl ToString) -> Value {
    Value::String(n.to_string())
}

/// A scalar, as its GraphQL type writes it.
fn scalar<T: ScalarType>(v: &T) -> Value {
    ScalarType::to_value(v)
}

/// A nullable scalar.
fn opt<T: ScalarType>(v: Option<&T>) -> Value {
    v.map_or(Value::Null, scalar)
}

/// Planned fields of `Municipality`.
#[derive(Debug)]
pub enum MunicipalityField {
    Typename,
    Id,
    Name,
    NameEn,
    Kind,
    Population,
}

fn plan_municipality(p: &Planner<'_>, set: &SelectionSet) -> Option<Plan<MunicipalityField>> {
    use MunicipalityField as F;
    p.plan("Municipality", set, &|_, name, _| {
        Some(match name {
            "__typename" => F::Typename,
            "id" => F::Id,
            "name" => F::Name,
            "nameEn" => F::NameEn,
            "kind" => F::Kind,
            "population" => F::Population,
            _ => return None,
        })
    })
}

fn municipality_value(m: &municipality::Model, field: &MunicipalityField) -> Value {
    use MunicipalityField as F;
    match field {
        F::Typename => string("Municipality"),
        F::Id => id(m.id),
        F::Name => string(&m.name),
        F::NameEn => string(&m.name_en),
        F::Kind => string(&m.kind),
        F::Population => opt(m.population.as_ref()),
    }
}

/// Planned fields of `Department`.
#[derive(Debug)]
pub enum DepartmentField {
    Typename,
    Id,
    Code,
    Name,
    Kind,
    Parent(Plan<DepartmentField>),
    Municipality(Plan<MunicipalityField>),
}

fn plan_department(p: &Planner<'_>, set: &SelectionSet) -> Option<Plan<DepartmentField>> {
    use DepartmentField as F;
    p.plan("Department", set, &|p, name, sub| {
        Some(match name {
            "__typename" => F::Typename,
            "id" => F::Id,
            "code" => F::Code,
            "name" => F::Name,
            "kind" => F::Kind,
            "parent" => F::Parent(plan_department(p, sub)?),
            "municipality" => F::Municipality(plan_municipality(p, sub)?),
            _ => return None,
        })
    })
}

fn department_value(dir: &Snapshot, d: &department::Model, field: &DepartmentField) -> Value {
    use DepartmentField as F;
    match field {
        F::Typename => string("Department"),
        F::Id => id(d.id),
        F::Code => string(&d.code),
        F::Name => string(&d.name),
        F::Kind => string(&d.kind),
        F::Parent(plan) => department_object(dir, d.parent_id, plan),
        F::Municipality(plan) => municipality_object(dir, d.municipality_id, plan),
    }
}

/// The municipality `id` refers to under `plan`, or null.
fn municipality_object(dir: &Snapshot, id: Option<i32>, plan: &Plan<MunicipalityField>) -> Value {
    let m = id.and_then(|id| dir.municipality(id));
    nullable(m.map(AsRef::as_ref), plan, municipality_value)
}

/// The department `id` refers to under `plan`, or null.
fn department_object(dir: &Snapshot, id: Option<i32>, plan: &Plan<DepartmentField>) -> Value {
    let d = id.and_then(|id| dir.department(id));
    nullable(d.map(AsRef::as_ref), plan, |d, f| department_value(dir, d, f))
}

/// Planned fields of `Staff` (contacts are row-dependent: the executor's).
#[derive(Debug)]
pub enum StaffField {
    Typename,
    Id,
    FullName,
    Position,
    Active,
    Department(Plan<DepartmentField>),
}

fn plan_staff(p: &Planner<'_>, set: &SelectionSet) -> Option<Plan<StaffField>> {
    use StaffField as F;
    p.plan("Staff", set, &|p, name, sub| {
        Some(match name {
            "__typename" => F::Typename,
            "id" => F::Id,
            "fullName" => F::FullName,
            "position" => F::Position,
            "active" => F::Active,
            "department" => F::Department(plan_department(p, sub)?),
            _ => return None,
        })
    })
}

fn staff_value(dir: &Snapshot, s: &staff::Model, field: &StaffField) -> Value {
    use StaffField as F;
    match field {
        F::Typename => string("Staff"),
        F::Id => id(s.id),
        F::FullName => string(&s.full_name),
        F::Position => string(&s.position),
        F::Active => Value::Boolean(s.active),
        F::Department(plan) => department_object(dir, Some(s.department_id), plan),
    }
}

/// Planned fields of `Complaint` (history lists and the author are the executor's).
#[derive(Debug)]
pub enum ComplaintField {
    Typename,
    Id,
    Number,
    Source,
    ExternalId,
    Category,
    Municipality(Plan<MunicipalityField>),
    Text,
    Address,
    Lat,
    Lon,
    ReceivedAt,
    Status,
    Priority,
    Department(Plan<DepartmentField>),
    Assignee(Plan<StaffField>),
    FirstResponseDueAt,
    ResolutionDueAt,
    FirstResponseAt,
    ResolvedAt,
    IsOverdue,
    IsPublic,
    Version,
    ResponseCount,
}

/// Plans a `Complaint` selection for rows shaped like `sample` (a page's rows were all read
/// with the same columns and counts).
fn plan_complaint(
    p: &Planner<'_>,
    set: &SelectionSet,
    sample: &Complaint,
) -> Option<Plan<ComplaintField>> {
    use ComplaintField as F;
    let loaded = sample.related().loaded;
    let counted = sample.related().response_counts.is_some();
    p.plan("Complaint", set, &|p, name, sub| {
        if columns_of(name).is_some_and(|needs| !loaded.covers(needs)) {
            return None;
        }
        Some(match name {
            "__typename" => F::Typename,
            "id" => F::Id,
            "number" => F::Number,
            "source" => F::Source,
            "externalId" => F::ExternalId,
            "category" => F::Category,
            "municipality" => F::Municipality(plan_municipality(p, sub)?),
            "text" => F::Text,
            "address" => F::Address,
            "lat" => F::Lat,
            "lon" => F::Lon,
            "receivedAt" => F::ReceivedAt,
            "status" => F::Status,
            "priority" => F::Priority,
            "department" => F::Department(plan_department(p, sub)?),
            "assignee" => F::Assignee(plan_staff(p, sub)?),
            "firstResponseDueAt" => F::FirstResponseDueAt,
            "resolutionDueAt" => F::ResolutionDueAt,
            "firstResponseAt" => F::FirstResponseAt,
            "resolvedAt" => F::ResolvedAt,
            "isOverdue" => F::IsOverdue,
            "isPublic" => F::IsPublic,
            "version" => F::Version,
            "responseCount" if counted => F::ResponseCount,
            _ => return None,
        })
    })
}

fn complaint_value(c: &Complaint, field: &ComplaintField, eval: &Eval) -> Value {
    use ComplaintField as F;
    let row = c.row();
    let related = c.related();
    let dir = &*related.directory;
    match field {
        F::Typename => string("Complaint"),
        F::Id => id(row.id),
        F::Number => string(&row.number),
        F::Source => enum_value(super::enums::Source::from(row.source)),
        F::ExternalId => string(&row.external_id),
        F::Category => enum_value(super::enums::Category::from(row.category)),
        F::Municipality(plan) => municipality_object(dir, Some(row.municipality_id), plan),
        F::Text => Value::String(super::shown(eval.masks_texts, &row.text).into_owned()),
        F::Address => row
            .address
            .as_deref()
            .map_or(Value::Null, |a| Value::String(super::shown(eval.masks_texts, a).into_owned())),
        F::Lat => opt(row.lat.as_ref()),
        F::Lon => opt(row.lon.as_ref()),
        F::ReceivedAt => scalar(&row.received_at),
        F::Status => enum_value(super::enums::ComplaintStatus::from(row.status)),
        F::Priority => enum_value(super::enums::Priority::from(row.priority)),
        F::Department(plan) => department_object(dir, row.department_id, plan),
        F::Assignee(plan) => {
            let staff = row.assignee_id.and_then(|id| dir.staff(id));
            nullable(staff.map(AsRef::as_ref), plan, |s, f| staff_value(dir, s, f))
        }
        F::FirstResponseDueAt => scalar(&row.first_response_due_at),
        F::ResolutionDueAt => scalar(&row.resolution_due_at),
        F::FirstResponseAt => opt(row.first_response_at.as_ref()),
        F::ResolvedAt => opt(row.resolved_at.as_ref()),
        F::IsOverdue => Value::Boolean(c.is_overdue_at(eval.now)),
        F::IsPublic => Value::Boolean(row.is_public),
        F::Version => scalar(&row.version),
        F::ResponseCount => {
            let counts = related.response_counts.as_ref();
            scalar(&counts.and_then(|m| m.get(&row.id)).copied().unwrap_or(0))
        }
    }
}

/// Planned fields of `ComplaintEdge`.
#[derive(Debug)]
pub enum EdgeField {
    Typename,
    Cursor,
    Node(Plan<ComplaintField>),
}

/// Lists whose items can be built from a plan.
pub trait Compiled: OutputType + Sized {
    /// What a planned field of the item type is.
    type Field: Send + Sync;
    /// Plans `set` for items like `sample`; `None` when the executor must resolve it.
    fn plan(p: &Planner<'_>, set: &SelectionSet, sample: &Self) -> Option<Plan<Self::Field>>;
    /// This item's value under `plan`.
    fn value(&self, plan: &Plan<Self::Field>, eval: &Eval) -> Value;
}

impl Compiled for Complaint {
    type Field = ComplaintField;

    fn plan(p: &Planner<'_>, set: &SelectionSet, sample: &Self) -> Option<Plan<ComplaintField>> {
        plan_complaint(p, set, sample)
    }

    fn value(&self, plan: &Plan<ComplaintField>, eval: &Eval) -> Value {
        object(plan, |f| complaint_value(self, f, eval))
    }
}

impl Compiled for ComplaintEdge {
    type Field = EdgeField;

    fn plan(p: &Planner<'_>, set: &SelectionSet, sample: &Self) -> Option<Plan<EdgeField>> {
        let node = sample.complaint();
        p.plan("ComplaintEdge", set, &|p, name, sub| {
            Some(match name {
                "__typename" => EdgeField::Typename,
                "cursor" => EdgeField::Cursor,
                "node" => EdgeField::Node(plan_complaint(p, sub, &node)?),
                _ => return None,
            })
        })
    }

    fn value(&self, plan: &Plan<EdgeField>, eval: &Eval) -> Value {
        object(plan, |f| match f {
            EdgeField::Typename => string("ComplaintEdge"),
            EdgeField::Cursor => Value::String(self.cursor_string()),
            EdgeField::Node(plan) => self.complaint().value(plan, eval),
        })
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
        let planner = Planner::new(&ctx.query_env.fragments, req.principal.role);
        match T::plan(&planner, &ctx.item.node, sample) {
            Some(plan) => {
                let eval = Eval { masks_texts: masks_texts(&req.principal), now: req.now };
                Ok(Value::List(self.0.iter().map(|item| item.value(&plan, &eval)).collect()))
            }
            None => <Vec<T> as OutputType>::resolve(&self.0, ctx, field).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::prefetch::Related;
    use async_graphql::parser::{
        parse_query,
        types::{DocumentOperations, Selection},
    };
    use entity::complaint::Column as C;
    use std::{collections::HashMap, sync::Arc};

    /// A page's row read with its number, status and department, and response counts.
    fn sample() -> Complaint {
        let related = Related {
            response_counts: Some(HashMap::new()),
            loaded: [C::Number, C::Status, C::DepartmentId].into_iter().collect(),
            ..Related::default()
        };
        let row = entity::complaint::Model {
            id: 1,
            number: "86-2026-0000001".into(),
            source: entity::Source::Telegram,
            external_id: "h-1".into(),
            category: entity::Category::Roads,
            municipality_id: 1,
            text: String::new(),
            address: None,
            lat: None,
            lon: None,
            author_name: None,
            author_phone: None,
            author_email: None,
            author_profile_url: None,
            received_at: Utc::now(),
            status: entity::ComplaintStatus::New,
            priority: entity::Priority::Normal,
            department_id: None,
            assignee_id: None,
            first_response_due_at: Utc::now(),
            resolution_due_at: Utc::now(),
            first_response_at: None,
            resolved_at: None,
            is_public: true,
            version: 1,
            updated_at: Utc::now(),
        };
        Complaint::new(Arc::new(row), Arc::new(related))
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
        let planner = Planner::new(&doc.fragments, role);
        Complaint::plan(&planner, &nodes.node.selection_set.node, &sample()).is_some()
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
        let planner = Planner::new(&no_fragments, op);
        assert!(Complaint::plan(&planner, &SelectionSet::default(), &sample()).is_none());
        // A field the roles matrix does not allow outright.
        assert!(!planned(Role::Public, &q("number externalId")));
    }
}
