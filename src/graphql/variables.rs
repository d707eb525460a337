//! Checks an operation's variables against their declared types before anything runs, as the
//! GraphQL spec's input coercion does: a value that does not coerce (`"n": 2147483648` for an
//! `Int`, `"yesterday"` for a `DateTime`, an unknown enum value or input field) and a missing
//! required variable are `BAD_USER_INPUT`, naming the variable. async-graphql would report
//! the first as a validation error of the argument it feeds, and run an operation whose
//! required variable is missing until a resolver tripped over the null.
use super::documents::chosen_operation;
use crate::Error;
use async_graphql::{
    Name, Value, Variables,
    parser::parse_schema,
    parser::types::{
        BaseType, ExecutableDocument, ServiceDocument, Type, TypeKind, TypeSystemDefinition,
    },
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// One field of an input object: its type and whether it has a default.
#[derive(Debug, Clone)]
struct InputField {
    ty: Type,
    has_default: bool,
}

/// The input types of the schema: input objects with their fields, enums with their values.
#[derive(Debug, Default)]
pub struct InputTypes {
    objects: HashMap<String, HashMap<String, InputField>>,
    enums: HashMap<String, HashSet<String>>,
}

impl InputTypes {
    /// Indexes the input objects and enums of `sdl`.
    pub fn from_sdl(sdl: &str) -> Self {
        let doc: ServiceDocument =
            parse_schema(sdl).unwrap_or(ServiceDocument { definitions: vec![] });
        let mut out = InputTypes::default();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else { continue };
            let name = ty.node.name.node.to_string();
            match ty.node.kind {
                TypeKind::InputObject(o) => {
                    let fields = o.fields.into_iter().map(|f| {
                        let field = InputField {
                            ty: f.node.ty.node,
                            has_default: f.node.default_value.is_some(),
                        };
                        (f.node.name.node.to_string(), field)
                    });
                    out.objects.insert(name, fields.collect());
                }
                TypeKind::Enum(e) => {
                    let values = e.values.into_iter().map(|v| v.node.value.node.to_string());
                    out.enums.insert(name, values.collect());
                }
                _ => {}
            }
        }
        out
    }

    /// Checks the variables of operation `operation_name` of `doc` (none chosen: nothing to
    /// check here, the executor reports it).
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), Error> {
        let Some(op) = chosen_operation(doc, operation_name) else { return Ok(()) };
        for def in &op.node.variable_definitions {
            let def = &def.node;
            let name = &def.name.node;
            let bad = |reason: String| Error::bad_input(format!("variable `${name}`: {reason}"));
            match variables.get(name) {
                None if def.default_value.is_some() || def.var_type.node.nullable => {}
                None => {
                    return Err(bad(format!("a value of type {} is required", def.var_type.node)));
                }
                Some(value) => self.value(value, &def.var_type.node).map_err(bad)?,
            }
        }
        Ok(())
    }

    /// Whether `value` coerces to `ty`; the reason when it does not.
    fn value(&self, value: &Value, ty: &Type) -> Result<(), String> {
        if *value == Value::Null {
            return if ty.nullable { Ok(()) } else { Err(format!("null is not a {ty}")) };
        }
        match &ty.base {
            // A single value coerces to a list of one.
            BaseType::List(inner) => match value {
                Value::List(items) => items.iter().try_for_each(|item| self.value(item, inner)),
                other => self.value(other, inner),
            },
            BaseType::Named(name) => self.named(value, name),
        }
    }

    fn named(&self, value: &Value, name: &Name) -> Result<(), String> {
        if let Some(values) = self.enums.get(name.as_str()) {
            let text = match value {
                Value::String(s) => Some(s.as_str()),
                Value::Enum(n) => Some(n.as_str()),
                _ => None,
            };
            return match text {
                Some(t) if values.contains(t) => Ok(()),
                _ => Err(format!("{value} is not one of the values of {name}")),
            };
        }
        if self.objects.contains_key(name.as_str()) {
            return self.object(value, name);
        }
        let ok = match (name.as_str(), value) {
            ("Int", Value::Number(n)) => n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            ("Float", Value::Number(_)) => true,
            ("String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
            ("ID", Value::String(_)) => true,
            ("ID", Value::Number(n)) => n.is_i64() || n.is_u64(),
            ("DateTime", Value::String(s)) => s.parse::<DateTime<Utc>>().is_ok(),
            ("Int" | "Float" | "String" | "Boolean" | "ID" | "DateTime", _) => false,
            // Other scalars are checked by their own parsers when they run.
            _ => true,
        };
        if ok { Ok(()) } else { Err(format!("{value} is not a valid {name}")) }
    }

    fn object(&self, value: &Value, name: &str) -> Result<(), String> {
        let fields = &self.objects[name];
        let Value::Object(given) = value else {
            return Err(format!("{value} is not a {name} object"));
        };
        for key in given.keys() {
            if !fields.contains_key(key.as_str()) {
                return Err(format!("{name} has no field `{key}`"));
            }
        }
        for (field, def) in fields {
            match given.get(field.as_str()) {
                None if def.has_default || def.ty.nullable => {}
                None => return Err(format!("{name}.{field} is required")),
                Some(v) => self.value(v, &def.ty).map_err(|e| format!("{name}.{field}: {e}"))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const SDL: &str = "
        enum Category { ROADS HEALTHCARE }
        scalar DateTime
        input Filter { category: Category receivedFrom: DateTime ids: [ID!] }
        input Needs { text: String! public: Boolean! = false }
        type Query { a: Int }
    ";

    fn check(query: &str, vars: serde_json::Value) -> Result<(), Error> {
        let types = InputTypes::from_sdl(SDL);
        types.check(&parse_query(query).expect("valid"), None, &Variables::from_json(vars))
    }

    #[test]
    fn values_that_do_not_coerce_are_refused_with_the_variable_named() {
        let q = "query($n: Int, $f: Filter, $need: Needs!) { a }";
        let good = serde_json::json!({ "n": 5, "need": { "text": "x" },
            "f": { "category": "ROADS", "receivedFrom": "2026-01-01T00:00:00Z", "ids": "7" } });
        assert!(check(q, good).is_ok());
        for (vars, named) in [
            (serde_json::json!({ "n": 2147483648_i64, "need": { "text": "x" } }), "$n"),
            (serde_json::json!({ "n": 1.5, "need": { "text": "x" } }), "$n"),
            (
                serde_json::json!({ "f": { "receivedFrom": "yesterday" }, "need": { "text": "x" } }),
                "$f",
            ),
            (serde_json::json!({ "f": { "category": "SPACE" }, "need": { "text": "x" } }), "$f"),
            (serde_json::json!({ "f": { "colour": "red" }, "need": { "text": "x" } }), "$f"),
            (serde_json::json!({ "need": {} }), "$need"),
            (serde_json::json!({}), "$need"),
            (serde_json::json!({ "need": null }), "$need"),
        ] {
            let err = check(q, vars.clone()).expect_err(&vars.to_string());
            assert_eq!(err.code(), "BAD_USER_INPUT");
            assert!(err.to_string().contains(named), "{err} for {vars}");
        }
        // A default stands in for a missing value.
        assert!(check("query($n: Int! = 3) { a }", serde_json::json!({})).is_ok());
    }
}
