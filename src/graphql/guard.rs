//! Checks an operation before it runs: the role's field rules (a field the matrix denies is
//! rejected, as if the role's schema lacked it) and the limits against abuse — depth, aliases,
//! root fields, estimated result size. Walks the parsed document with the schema's field
//! types, expanding fragments, and stops early on documents built to explode.
use super::walk::{Spreads, Visit, Walker};
use crate::{
    Error,
    auth::{Role, policy::Access},
    config::QueryLimits,
};
use async_graphql::{
    Name, Variables,
    parser::types::{
        BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
        SelectionSet, ServiceDocument, Type, TypeKind, TypeSystemDefinition,
    },
    parser::{Positioned, parse_schema},
};
use std::collections::HashMap;

/// A list field without paging arguments is assumed to produce this many items.
const LIST_ESTIMATE: u64 = 10;
/// Page size assumed when a paged field gives neither `first` nor `last`.
const DEFAULT_PAGE_ESTIMATE: u64 = 20;
/// Selections visited per operation (fragments expanded) before the walk gives up.
const MAX_VISITED: usize = 20_000;

/// The named type of a field and whether it is a list.
#[derive(Debug, Clone)]
struct FieldType {
    name: String,
    list: bool,
}

/// Field types by type and field name, read from the schema's SDL.
#[derive(Debug, Default)]
pub struct TypeIndex {
    types: HashMap<String, HashMap<String, FieldType>>,
    /// Fields of the schema this gateway does not serve (its configuration leaves them off),
    /// with the reason.
    off: HashMap<(String, String), &'static str>,
}

fn field_type(ty: &Type) -> FieldType {
    match &ty.base {
        BaseType::Named(name) => FieldType { name: name.to_string(), list: false },
        BaseType::List(inner) => FieldType { list: true, ..field_type(inner) },
    }
}

impl TypeIndex {
    /// Indexes the object and interface types of `sdl`.
    pub fn from_sdl(sdl: &str) -> Self {
        let doc: ServiceDocument =
            parse_schema(sdl).unwrap_or(ServiceDocument { definitions: vec![] });
        let mut types = HashMap::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else { continue };
            let fields = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            let fields = fields
                .iter()
                .map(|f| (f.node.name.node.to_string(), field_type(&f.node.ty.node)))
                .collect();
            types.insert(ty.node.name.node.to_string(), fields);
        }
        TypeIndex { types, off: HashMap::new() }
    }

    /// The index with `fields` (type, field) refused for `reason`.
    pub fn switched_off(mut self, fields: &[(&str, &str)], reason: &'static str) -> Self {
        for (t, f) in fields {
            self.off.insert(((*t).to_owned(), (*f).to_owned()), reason);
        }
        self
    }

    /// Whether the index knows `type_name` (the root types must be there).
    pub fn has_type(&self, type_name: &str) -> bool {
        self.types.contains_key(type_name)
    }

    fn field(&self, type_name: &str, field: &str) -> Option<&FieldType> {
        self.types.get(type_name)?.get(field)
    }

    /// The named type of field `field` of `type_name`, if the schema has that field.
    pub(crate) fn field_type(&self, type_name: &str, field: &str) -> Option<&str> {
        self.field(type_name, field).map(|f| f.name.as_str())
    }
}

/// Why an operation was refused before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Shown to the client.
    pub message: String,
    /// `QUERY_TOO_COMPLEX` or `FORBIDDEN`.
    pub forbidden: bool,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        if r.forbidden { Error::Forbidden(r.message) } else { Error::QueryTooComplex(r.message) }
    }
}

fn too_complex(message: String) -> Refusal {
    Refusal { message, forbidden: false }
}

fn forbidden(message: String) -> Refusal {
    Refusal { message, forbidden: true }
}

/// What the walk measured.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// Deepest field nesting.
    pub depth: usize,
    /// Aliased fields.
    pub aliases: usize,
    /// Root fields.
    pub root_fields: usize,
    /// Estimated number of values in the result.
    pub complexity: u64,
}

/// Who the operation runs for.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The caller's role (field rules).
    pub role: Role,
    /// Whether the caller may introspect.
    pub introspection: bool,
}

struct Walk<'a> {
    index: &'a TypeIndex,
    walker: Walker<'a>,
    variables: &'a Variables,
    caller: Caller,
    limits: &'a QueryLimits,
    measure: Measure,
    visited: usize,
}

/// Whether the operation `operation_name` of `doc` (the only one when unnamed) is a mutation.
pub fn is_mutation(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    doc.operations.iter().any(|(name, op)| {
        op.node.ty == OperationType::Mutation
            && (operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
    })
}

/// Checks the operation `operation_name` of `doc` (every operation when none is chosen).
pub fn check(
    index: &TypeIndex,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    caller: Caller,
    limits: &QueryLimits,
) -> Result<Measure, Refusal> {
    let chosen: Vec<&Positioned<OperationDefinition>> = match (&doc.operations, operation_name) {
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.iter().filter(|(n, _)| n.as_str() == name).map(|(_, op)| op).collect()
        }
        (ops, _) => ops.iter().map(|(_, op)| op).collect(),
    };
    let mut worst = Measure::default();
    for op in chosen {
        let root = match op.node.ty {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        };
        let mut walk = Walk {
            index,
            walker: Walker::new(&doc.fragments, None, Spreads::EveryTime),
            variables,
            caller,
            limits,
            measure: Measure::default(),
            visited: 0,
        };
        let set = &op.node.selection_set.node;
        walk.measure.complexity = walk.set(set, Some(root), 0, 1, None, &mut Vec::new())?;
        let m = walk.measure;
        if m.root_fields > limits.max_root_fields {
            return Err(too_complex(format!(
                "the operation has {} root fields; the limit is {}",
                m.root_fields, limits.max_root_fields
            )));
        }
        if m.complexity > limits.max_complexity {
            return Err(too_complex(format!(
                "the operation may produce about {} values; the limit is {} (ask for smaller pages or fewer fields)",
                m.complexity, limits.max_complexity
            )));
        }
        worst = Measure {
            depth: worst.depth.max(m.depth),
            aliases: worst.aliases.max(m.aliases),
            root_fields: worst.root_fields.max(m.root_fields),
            complexity: worst.complexity.max(m.complexity),
        };
    }
    Ok(worst)
}

impl<'a> Walk<'a> {
    /// Walks a selection set of `type_name` (None inside introspection or unknown fields) at
    /// `depth`, where every value repeats `mult` times and lists hold `page` items when the
    /// enclosing field is paged; returns its estimated size. Every spread of a fragment
    /// counts (the executor resolves each), so a fragment bomb exhausts the budget.
    fn set(
        &mut self,
        set: &'a SelectionSet,
        type_name: Option<&'a str>,
        depth: usize,
        mult: u64,
        page: Option<u64>,
        path: &mut Vec<&'a Name>,
    ) -> Result<u64, Refusal> {
        let mut total = 0u64;
        let walker = self.walker;
        walker.level(set, path, &mut |visit, path| {
            self.visited += 1;
            if self.visited > MAX_VISITED {
                return Err(too_complex(format!(
                    "the operation expands to more than {MAX_VISITED} selections"
                )));
            }
            if let Visit::Field(field, on) = visit {
                // A fragment's type condition names the type its fields are on.
                let on = type_name.and(on.or(type_name));
                total =
                    total.saturating_add(self.field(&field.node, on, depth, mult, page, path)?);
            }
            Ok(())
        })?;
        Ok(total)
    }

    fn field(
        &mut self,
        field: &'a async_graphql::parser::types::Field,
        type_name: Option<&'a str>,
        depth: usize,
        mult: u64,
        page: Option<u64>,
        path: &mut Vec<&'a Name>,
    ) -> Result<u64, Refusal> {
        let name = field.name.node.as_str();
        if depth == 0 {
            self.measure.root_fields += 1;
        }
        if field.alias.is_some() {
            self.measure.aliases += 1;
            if self.measure.aliases > self.limits.max_aliases {
                return Err(too_complex(format!(
                    "the operation uses more than {} aliases",
                    self.limits.max_aliases
                )));
            }
        }
        let depth = depth + 1;
        self.measure.depth = self.measure.depth.max(depth);
        if depth > self.limits.max_depth {
            return Err(too_complex(format!(
                "the operation nests fields deeper than {} levels",
                self.limits.max_depth
            )));
        }
        if name == "__typename" {
            return Ok(0);
        }
        if let Some(t) = type_name
            && let Some(reason) = self.index.off.get(&(t.to_owned(), name.to_owned()))
        {
            return Err(forbidden(format!("field `{t}.{name}` is not served: {reason}")));
        }
        let role = self.caller.role;
        // A field the schema lacks is left for validation to call unknown (naming nothing
        // else); a known one without a rule is denied.
        if let Some(t) = type_name
            && self.index.field(t, name).is_some()
            && super::fields::access(role, t, name) == Access::Deny
        {
            return Err(forbidden(format!(
                "field `{t}.{name}` is not available to role `{}`",
                role.as_str()
            )));
        }
        // The subgraph SDL is the whole schema: it is introspection too.
        let describes = matches!(name, "__schema" | "__type")
            || (type_name == Some("Query") && name == "_service");
        if describes && !self.caller.introspection {
            return Err(forbidden(format!(
                "introspection is not available to role `{}`",
                role.as_str()
            )));
        }
        // Introspection types are not in the index; their size is bounded by the schema, so
        // only their depth counts.
        let introspection = name.starts_with("__");
        let ty = type_name.and_then(|t| self.index.field(t, name));
        // A list holds the enclosing page's size (edges of a connection) or an estimate.
        let repeat = match ty {
            Some(ty) if ty.list => self.asked_for(field).or(page).unwrap_or(LIST_ESTIMATE),
            _ => 1,
        };
        let own = if introspection { 0 } else { mult };
        let child_mult = if introspection { 0 } else { mult.saturating_mul(repeat) };
        let children = self.set(
            &field.selection_set.node,
            ty.map(|t| t.name.as_str()),
            depth,
            child_mult,
            self.page_size(field),
            path,
        )?;
        Ok(own.saturating_add(children))
    }

    /// How many items a field that answers one per input item asks for: `_entities`, one
    /// per representation.
    fn asked_for(&self, field: &async_graphql::parser::types::Field) -> Option<u64> {
        let value = field.get_argument("representations")?;
        let value =
            value.node.clone().into_const_with(|var| self.variables.get(&var).cloned().ok_or(()));
        match value {
            Ok(async_graphql::Value::List(items)) => Some((items.len() as u64).max(1)),
            _ => None,
        }
    }

    /// `first`/`last` of a paged field (a literal or a variable), if it has them.
    fn page_size(&self, field: &async_graphql::parser::types::Field) -> Option<u64> {
        let mut paged = false;
        for (arg, value) in &field.arguments {
            if !matches!(arg.node.as_str(), "first" | "last") {
                continue;
            }
            paged = true;
            let value = value
                .node
                .clone()
                .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()));
            // Sizes out of range are the resolver's to refuse (BAD_USER_INPUT); here they
            // count as the largest page.
            if let Ok(async_graphql::Value::Number(n)) = value {
                let cap = u64::from(self.limits.max_page_size);
                return Some(n.as_u64().unwrap_or(cap).clamp(1, cap));
            }
        }
        paged.then_some(DEFAULT_PAGE_ESTIMATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const SDL: &str = "
        type Query { complaints(first: Int, last: Int): ComplaintConnection! complaint(id: ID!): Complaint me: Viewer! auditLog(first: Int): AuditConnection! }
        type ComplaintConnection { edges: [ComplaintEdge!]! totalCount: Int! }
        type AuditConnection { totalCount: Int! }
        type ComplaintEdge { node: Complaint! cursor: String! }
        type Complaint { id: ID! text: String! author: Author assignments: [Assignment!]! ghost: String }
        type Author { name: String }
        type Assignment { id: ID! }
        type Viewer { role: String! }
    ";

    fn limits() -> QueryLimits {
        QueryLimits {
            max_page_size: 1_000,
            max_depth: 6,
            max_complexity: 2_000,
            max_aliases: 3,
            max_root_fields: 4,
            max_batch: 10,
        }
    }

    fn run(query: &str, role: Role, vars: serde_json::Value) -> Result<Measure, Refusal> {
        let index = TypeIndex::from_sdl(SDL);
        let doc = parse_query(query).unwrap();
        let vars = Variables::from_json(vars);
        check(&index, &doc, None, &vars, Caller { role, introspection: true }, &limits())
    }

    #[test]
    fn measures_pages_lists_and_fragments() {
        let m = run(
            "query($n: Int) { complaints(first: $n) { totalCount edges { node { ...C } } } }
             fragment C on Complaint { id assignments { id } }",
            Role::Operator,
            serde_json::json!({ "n": 50 }),
        )
        .unwrap();
        // complaints 1 + totalCount 1 + edges 1 + 50 × (node, id, assignments) + 50 × 10 ids.
        assert_eq!(m.complexity, 653);
        assert_eq!(m.depth, 5);
        assert_eq!(m.root_fields, 1);
    }

    #[test]
    fn refuses_what_exceeds_a_limit() {
        let deep = "{ complaint(id: 1) { assignments { id } } a: me { role } b: me { role } c: me { role } d: me { role } }";
        assert!(
            run(deep, Role::Operator, serde_json::json!({}))
                .unwrap_err()
                .message
                .contains("aliases")
        );
        let wide =
            "{ a: me { role } b: me { role } c: me { role } me { role } complaint(id: 1) { id } }";
        assert!(
            run(wide, Role::Operator, serde_json::json!({}))
                .unwrap_err()
                .message
                .contains("root fields")
        );
        let big = "{ complaints(first: 1000) { edges { node { id text assignments { id } } } } }";
        let err = run(big, Role::Operator, serde_json::json!({})).unwrap_err();
        assert!(err.message.contains("values") && !err.forbidden, "{err:?}");
        let nested = "{ complaints { edges { node { assignments { __typename } } } } }";
        assert!(run(nested, Role::Operator, serde_json::json!({})).is_ok());
        let too_deep = "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }";
        assert!(
            run(too_deep, Role::Operator, serde_json::json!({}))
                .unwrap_err()
                .message
                .contains("deeper")
        );
    }

    #[test]
    fn denied_fields_are_refused_through_fragments_too() {
        let q = "{ complaint(id: 1) { ... on Complaint { author { name } } } }";
        let err = run(q, Role::Governor, serde_json::json!({})).unwrap_err();
        assert!(err.forbidden && err.message.contains("Complaint.author"), "{err:?}");
        assert!(run(q, Role::Operator, serde_json::json!({})).is_ok());
        let audit = "{ auditLog(first: 5) { totalCount } }";
        assert!(run(audit, Role::Ministry, serde_json::json!({})).unwrap_err().forbidden);
        // A field of the schema without a rule is denied to every role, the operator too.
        let ghost = "{ complaint(id: 1) { ghost } }";
        assert!(run(ghost, Role::Operator, serde_json::json!({})).unwrap_err().forbidden);
        // A field the schema lacks is validation's to report, not refused as forbidden.
        assert!(run("{ complaint(id: 1) { ghots } }", Role::Public, serde_json::json!({})).is_ok());
    }

    #[test]
    fn fragment_bombs_stop_early() {
        let mut q = String::from("{ complaint(id: 1) { ...F0 } }\n");
        for i in 0..20 {
            q.push_str(&format!(
                "fragment F{i} on Complaint {{ id ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        q.push_str("fragment F20 on Complaint { id }\n");
        let limits = QueryLimits { max_complexity: u64::MAX, ..limits() };
        let index = TypeIndex::from_sdl(SDL);
        let doc = parse_query(&q).unwrap();
        let caller = Caller { role: Role::Operator, introspection: true };
        let err = check(&index, &doc, None, &Variables::default(), caller, &limits);
        assert!(err.unwrap_err().message.contains("selections"));
    }
}
