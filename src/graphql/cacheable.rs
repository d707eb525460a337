//! Which read operations may be answered whole from the cache: queries whose every field the
//! field registry marks as shared (`fields/`: an allow-list — a field without an entry, or
//! one whose value is audited or follows anything but the cache key, keeps the answer out).
use super::documents::chosen_operation;
use super::fields;
use super::guard::TypeIndex;
use super::walk::{Spreads, Visit, Walker};
use async_graphql::{
    Name,
    parser::types::{ExecutableDocument, OperationType, SelectionSet},
};

/// Whether operation `operation_name` of `doc` is a query that may be cached whole. Every
/// selection counts, `@skip`ped or not: never wrong, sometimes too careful.
pub(crate) fn cacheable(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    types: &TypeIndex,
) -> bool {
    let Some(op) = chosen_operation(doc, operation_name) else { return false };
    if op.node.ty != OperationType::Query {
        return false;
    }
    let walker = Walker::new(&doc.fragments, None, Spreads::OncePerLevel);
    shared(&walker, types, "Query", &op.node.selection_set.node, &mut Vec::new())
}

/// Whether every field of `set` on `type_name`, however deep, may be shared.
fn shared<'a>(
    walker: &Walker<'a>,
    types: &TypeIndex,
    type_name: &str,
    set: &'a SelectionSet,
    path: &mut Vec<&'a Name>,
) -> bool {
    walker
        .level(set, path, &mut |visit, path| {
            let Visit::Field(f, _) = visit else { return Ok(()) };
            let name = f.node.name.node.as_str();
            // The schema's own answers are fixed per role, which the key holds.
            if name.starts_with("__") {
                return Ok(());
            }
            let sub = &f.node.selection_set.node;
            let ok = fields::shared(type_name, name)
                && match types.field_type(type_name, name) {
                    Some(ty) if !sub.items.is_empty() => shared(walker, types, ty, sub, path),
                    Some(_) => true,
                    None => false,
                };
            if ok { Ok(()) } else { Err(()) }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn ok(q: &str, op: Option<&str>) -> bool {
        let types = TypeIndex::from_sdl(&crate::graphql::sdl());
        cacheable(&parse_query(q).expect("valid"), op, &types)
    }

    #[test]
    fn only_queries_without_audited_or_personal_fields() {
        assert!(ok("{ complaints(first: 5) { edges { node { number } } } }", None));
        assert!(ok("query A { kpis { key } } mutation B { x }", Some("A")));
        assert!(!ok("query A { kpis { key } } mutation B { x }", Some("B")));
        assert!(!ok("mutation { assignComplaint { id } }", None));
        assert!(!ok("{ complaint(id: 1) { author { name } } }", None));
        assert!(!ok("{ complaint(id: 1) { ... on Complaint { author { name } } } }", None));
        assert!(!ok(
            "{ complaint(id: 1) { ...F } } fragment F on Complaint { author { name } }",
            None
        ));
        assert!(!ok("{ me { role } }", None));
        assert!(!ok("{ auditLog { totalCount } }", None));
        assert!(!ok("{ routingRules { id } }", None));
        assert!(!ok("query A { x } query B { y }", None), "ambiguous: executor reports it");
        // An allow-list: a field the registry does not know keeps the answer out, however
        // deep; nested registered fields and the schema's own do not.
        assert!(!ok("{ complaints { nodes { department { nickname } } } }", None));
        assert!(!ok("{ complaints { nodes { newField } } }", None));
        assert!(ok(
            "{ complaints { nodes { department { parent { name } } history { actor } } } }",
            None
        ));
        assert!(ok("{ __typename complaints { totalCount __typename } }", None));
    }
}
