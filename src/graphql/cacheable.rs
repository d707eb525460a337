//! Which read operations may be answered whole from the cache: queries whose every field
//! follows the complaints' generation and the caller's scope. Left out: `author` (each read
//! must be audited), `auditLog` (written by reads, no generation), `me` (the caller's own
//! identity, not the scope's) and `routingRules` (another generation).
use super::documents::chosen_operation;
use super::walk::{Spreads, Visit, Walker};
use async_graphql::{
    Name,
    parser::types::{ExecutableDocument, OperationType, SelectionSet},
};

/// Fields whose answers must not be shared through the cache.
const UNCACHEABLE: [&str; 4] = ["author", "auditLog", "me", "routingRules"];

/// Whether operation `operation_name` of `doc` is a query that may be cached whole. Every
/// selection counts, `@skip`ped or not: never wrong, sometimes too careful.
pub fn cacheable(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let Some(op) = chosen_operation(doc, operation_name) else { return false };
    if op.node.ty != OperationType::Query {
        return false;
    }
    let walker = Walker::new(&doc.fragments, None, Spreads::OncePerLevel);
    clean(&walker, &op.node.selection_set.node, &mut Vec::new())
}

/// Whether no field of `set`, however deep, is one whose answer must not be shared.
fn clean<'a>(walker: &Walker<'a>, set: &'a SelectionSet, path: &mut Vec<&'a Name>) -> bool {
    walker
        .level(set, path, &mut |visit, path| match visit {
            Visit::Field(f, _)
                if UNCACHEABLE.contains(&f.node.name.node.as_str())
                    || !clean(walker, &f.node.selection_set.node, path) =>
            {
                Err(())
            }
            _ => Ok(()),
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn ok(q: &str, op: Option<&str>) -> bool {
        cacheable(&parse_query(q).expect("valid"), op)
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
    }
}
