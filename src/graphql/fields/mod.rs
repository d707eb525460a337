//! The field registry: for every GraphQL object type one table that names each of its fields
//! once, with everything the gateway decides about the field — the roles-matrix column that
//! decides who sees it (fail closed: a field without an entry is denied), whether an answer
//! holding it may be shared through the operation cache (an allow-list), what a complaint
//! field reads (columns and history lists, for the page query and the prefetch) and how a
//! compiled page plan builds it. The guard, introspection, the cache check, the prefetch and
//! the planner all read these tables; a test holds them equal to the exported SDL.
mod complaints;
mod directory;
mod roots;
pub(crate) mod spec;

pub(crate) use complaints::{COMPLAINT, COMPLAINT_EDGE};
pub(crate) use directory::{DEPARTMENT, MUNICIPALITY, STAFF};

use crate::auth::{
    Role,
    policy::{Access, policy_of},
};
use spec::{Cache, Rule, Table};
use std::{collections::HashMap, sync::LazyLock};

/// Every object type's table.
static TABLES: [&dyn Table; 28] = [
    &complaints::COMPLAINT,
    &complaints::COMPLAINT_EDGE,
    &complaints::COMPLAINT_CONNECTION,
    &complaints::PAGE_INFO,
    &complaints::AUTHOR,
    &complaints::ASSIGNMENT,
    &complaints::STATUS_EVENT,
    &complaints::RESPONSE,
    &complaints::DELIVERY,
    &directory::MUNICIPALITY,
    &directory::DEPARTMENT,
    &directory::STAFF,
    &roots::QUERY,
    &roots::MUTATION,
    &roots::SUBSCRIPTION,
    &roots::COMPLAINT_EVENT,
    &roots::VIEWER,
    &roots::AUDIT_CONNECTION,
    &roots::AUDIT_EDGE,
    &roots::AUDIT_RECORD,
    &roots::ROUTING_RULE,
    &roots::KPI_ROW,
    &roots::DURATION_STATS,
    &roots::INGEST_RESULT,
    &roots::INGEST_ITEM_RESULT,
    &roots::CONNECTOR,
    &roots::CONNECTOR_COUNTS,
    &roots::SERVICE,
];

/// Rule and cacheability by type and field name.
type Index = HashMap<&'static str, HashMap<&'static str, (Rule, Cache)>>;

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut index: Index = HashMap::new();
    for table in TABLES {
        let fields = index.entry(table.type_name()).or_default();
        for (name, rule, cache) in table.entries() {
            fields.insert(name, (rule, cache));
        }
    }
    index
});

fn entry(type_name: &str, field: &str) -> Option<(Rule, Cache)> {
    INDEX.get(type_name)?.get(field).copied()
}

/// How `role` may see field `field` of GraphQL type `type_name`: denied without an entry.
pub fn access(role: Role, type_name: &str, field: &str) -> Access {
    entry(type_name, field).map_or(Access::Deny, |(rule, _)| rule(policy_of(role)))
}

/// Whether `role` may see any field of `type_name` (a root type with none is hidden whole:
/// an object type without fields is not valid GraphQL).
pub fn any_visible(role: Role, type_name: &str) -> bool {
    INDEX.get(type_name).is_some_and(|fields| {
        fields.values().any(|(rule, _)| rule(policy_of(role)) != Access::Deny)
    })
}

/// Whether an answer holding field `field` of `type_name` may be shared through the cache:
/// only fields whose entry says so.
pub(crate) fn shared(type_name: &str, field: &str) -> bool {
    entry(type_name, field).is_some_and(|(_, cache)| cache == Cache::Shared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn the_tables_name_every_field_of_the_sdl_exactly_once() {
        let doc = parse_schema(crate::graphql::sdl()).expect("the SDL parses");
        let mut sdl = BTreeMap::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else { continue };
            let TypeKind::Object(o) = &ty.node.kind else { continue };
            let names: Vec<String> =
                o.fields.iter().map(|f| f.node.name.node.to_string()).collect();
            sdl.insert(ty.node.name.node.to_string(), names);
        }
        let mut registry = BTreeMap::new();
        for table in TABLES {
            let names: Vec<String> = table.entries().iter().map(|e| e.0.to_owned()).collect();
            let unique: BTreeSet<&String> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{} names a field twice", table.type_name());
            let previous = registry.insert(table.type_name().to_owned(), names);
            assert!(previous.is_none(), "two tables for {}", table.type_name());
        }
        // Same types, same fields.
        assert_eq!(
            registry.keys().collect::<Vec<_>>(),
            sdl.keys().collect::<Vec<_>>(),
            "object types: registry vs SDL"
        );
        for (ty, fields) in &sdl {
            let mut ours = registry[ty].clone();
            let mut theirs = fields.clone();
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "fields of {ty}: registry vs SDL");
        }
    }

    #[test]
    fn unregistered_fields_are_denied_and_never_shared() {
        for role in Role::ALL {
            assert_eq!(access(role, "Complaint", "newField"), Access::Deny);
            assert_eq!(access(role, "NewType", "id"), Access::Deny);
        }
        assert!(!shared("Complaint", "newField"));
        assert!(shared("Complaint", "number"));
        assert!(!shared("Complaint", "author"));
        assert!(!shared("Query", "me"));
    }

    #[test]
    fn rules_follow_the_matrix() {
        use Access::{Allow, Deny, Masked, WhileAssigned};
        let author: Vec<_> = Role::ALL.map(|r| access(r, "Complaint", "author")).into();
        assert_eq!(author, [Deny, Allow, WhileAssigned, Deny, Deny, Deny]);
        assert_eq!(access(Role::Public, "Complaint", "text"), Masked);
        assert_eq!(access(Role::Operator, "Complaint", "text"), Allow);
        assert_eq!(access(Role::Public, "Complaint", "externalId"), Deny);
        assert_eq!(access(Role::Ministry, "Mutation", "ingestComplaints"), Deny);
        assert_eq!(access(Role::Integration, "Mutation", "ingestComplaints"), Allow);
    }
}
