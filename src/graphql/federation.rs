//! The schema as an Apollo Federation v2 subgraph (`CUR_FEDERATION=true`): `_service` gives
//! routers the subgraph SDL (`@key(fields: "id")` on Complaint, Department, Municipality and
//! Staff; `schema/subgraph.graphql`), and `_entities` resolves representations through the
//! same row scope and field rules as every other read — a complaint outside the caller's
//! scope resolves to null, exactly as if it did not exist, and the fields of what resolves
//! pass the same guard. Written by hand rather than with async-graphql's `#[graphql(entity)]`,
//! which would put both fields into every schema, switch or no switch.
use super::complaint::Complaint;
use super::directory::{Department, Municipality, Staff, department_in, municipality_in, staff_in};
use super::{ctx_db, prefetch, request, snapshot};
use crate::error::GqlResult;
use crate::store::{self, complaints::Columns, scope::Scoped};
use async_graphql::{
    Context, InputValueError, InputValueResult, Object, Result, Scalar, ScalarType, SimpleObject,
    Union, Value,
};
use std::sync::Arc;

/// Representations resolved at most in one request.
pub const MAX_REPRESENTATIONS: usize = 1_000;

/// Whether this gateway serves the subgraph fields.
#[derive(Debug, Clone, Copy)]
pub struct Federation(pub bool);

/// The subgraph's root fields, refused while the switch is off.
pub const FIELDS: [(&str, &str); 2] = [("Query", "_service"), ("Query", "_entities")];

/// The entity types and their key.
pub const ENTITIES: [&str; 4] = ["Complaint", "Department", "Municipality", "Staff"];

/// `_Any`: an entity representation, `{ "__typename": "Complaint", "id": "42" }`.
pub struct Representation(Value);

#[Scalar(name = "_Any", visible = "super::visibility::federation")]
impl ScalarType for Representation {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::Object(_) => Ok(Representation(value)),
            other => {
                Err(InputValueError::custom(format!("a representation is an object, not {other}")))
            }
        }
    }

    fn to_value(&self) -> Value {
        self.0.clone()
    }
}

/// `_Service`: what a router reads to compose the supergraph.
#[derive(SimpleObject)]
#[graphql(name = "_Service", visible = "super::visibility::federation")]
pub struct Service {
    /// The subgraph SDL.
    sdl: String,
}

/// `_Entity`: every type with a key.
#[derive(Union)]
#[graphql(name = "_Entity", visible = "super::visibility::federation")]
pub enum Entity {
    /// A complaint by id.
    Complaint(Complaint),
    /// A department by id.
    Department(Department),
    /// A municipality by id.
    Municipality(Municipality),
    /// A staff member by id.
    Staff(Staff),
}

/// The subgraph's root fields.
#[derive(Default)]
pub struct FederationQuery;

/// A representation's type and id, or why it is not one.
fn key_of(r: &Representation) -> Result<(&str, &str), String> {
    let Value::Object(fields) = &r.0 else { return Err("not an object".into()) };
    let typename = match fields.get("__typename") {
        Some(Value::String(t)) if ENTITIES.contains(&t.as_str()) => t.as_str(),
        Some(other) => return Err(format!("__typename {other} is not an entity of this subgraph")),
        None => return Err("__typename is missing".into()),
    };
    match fields.get("id") {
        Some(Value::String(id)) => Ok((typename, id.as_str())),
        _ => Err(format!("a {typename} representation needs its `id` as a string")),
    }
}

#[Object]
impl FederationQuery {
    /// The subgraph SDL, for routers.
    #[graphql(name = "_service", visible = "super::visibility::federation")]
    async fn service(&self) -> Service {
        Service { sdl: subgraph_sdl() }
    }

    /// The entities the representations name, in order; null for one that does not exist or
    /// lies outside the caller's scope.
    #[graphql(name = "_entities", visible = "super::visibility::federation")]
    async fn entities(
        &self,
        ctx: &Context<'_>,
        representations: Vec<Representation>,
    ) -> Result<Vec<Option<Entity>>> {
        if representations.len() > MAX_REPRESENTATIONS {
            return Err(crate::Error::bad_input(format!(
                "at most {MAX_REPRESENTATIONS} representations at once, not {}",
                representations.len()
            )))
            .gql();
        }
        let mut keys = Vec::with_capacity(representations.len());
        for (i, r) in representations.iter().enumerate() {
            let key = key_of(r)
                .map_err(|why| crate::Error::bad_input(format!("representations[{i}]: {why}")));
            keys.push(key.gql()?);
        }
        let number = |id: &str| id.parse::<i64>().ok();
        let complaint_ids: Vec<i64> = keys
            .iter()
            .filter(|(t, _)| *t == "Complaint")
            .filter_map(|(_, id)| number(id))
            .collect();
        let principal = &request(ctx).principal;
        let directory = snapshot(ctx).await?;
        let db = ctx_db(ctx).read();
        // One scoped read for every complaint, and one prefetch of what the selection reads.
        let rows =
            store::complaints::get_many(db, Scoped::of(principal), &complaint_ids).await.gql()?;
        let found: Vec<i64> = rows.keys().copied().collect();
        let wants = prefetch::selected(ctx, &[]);
        let related = Arc::new(
            prefetch::load(db, principal, &found, wants, None, Columns::ALL, directory.clone())
                .await
                .gql()?,
        );
        Ok(keys
            .into_iter()
            .map(|(typename, id)| match typename {
                "Complaint" => number(id)
                    .and_then(|id| rows.get(&id))
                    .map(|row| Entity::Complaint(Complaint::new(row.clone(), related.clone()))),
                "Department" => department_in(&directory, id.parse().ok()).map(Entity::Department),
                "Municipality" => {
                    municipality_in(&directory, id.parse().ok()).map(Entity::Municipality)
                }
                _ => staff_in(&directory, id.parse().ok()).map(Entity::Staff),
            })
            .collect())
    }
}

/// Federation v2 link at the head of the subgraph SDL.
const LINK: &str =
    "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\"])\n";

/// The subgraph SDL, as checked in at `schema/subgraph.graphql`: the schema with the entity
/// keys, without the fields and types a router adds itself.
pub fn subgraph_sdl() -> String {
    static SDL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut sdl = strip(&super::sdl());
        for name in ENTITIES {
            sdl = sdl.replace(
                &format!("\ntype {name} {{"),
                &format!("\ntype {name} @key(fields: \"id\") {{"),
            );
        }
        format!("{LINK}\n{sdl}")
    });
    SDL.clone()
}

/// `sdl` without `_service`, `_entities`, `_Any`, `_Service` and `_Entity` (each with its
/// description): async-graphql prints a description as a `"""` block above its item.
fn strip(sdl: &str) -> String {
    let lines: Vec<&str> = sdl.lines().collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        // An item's description block, if one starts here.
        let mut end = i;
        let quote = lines[i].trim();
        if quote == "\"\"\"" {
            end = i + 1;
            while end < lines.len() && lines[end].trim() != "\"\"\"" {
                end += 1;
            }
            end += 1;
        } else if quote.starts_with("\"\"\"") && quote.len() > 6 && quote.ends_with("\"\"\"") {
            end = i + 1;
        }
        let item = lines.get(end).map_or("", |l| l.trim());
        let field = item.starts_with("_service:") || item.starts_with("_entities(");
        let block = ["scalar _Any", "type _Service {", "union _Entity ="]
            .iter()
            .any(|b| item.starts_with(b));
        if field {
            i = end + 1;
            continue;
        }
        if block {
            let mut j = end;
            if item.ends_with('{') {
                while j < lines.len() && lines[j].trim() != "}" {
                    j += 1;
                }
            }
            i = j + 1;
            // The blank line after it.
            if lines.get(i).is_some_and(|l| l.trim().is_empty()) {
                i += 1;
            }
            continue;
        }
        out.extend(&lines[i..=end.min(lines.len() - 1)]);
        i = end + 1;
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}
