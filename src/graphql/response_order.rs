//! Puts the keys of every response object in the order the operation asked for them, as the
//! GraphQL spec says responses should be written. async-graphql 7.2 writes an object's fields
//! in the order their futures finish, so a `totalCount` that waits for Postgres would follow
//! the `edges` built without waiting. The order is planned once per operation from its
//! selections and applied to the response; objects already in order cost a string comparison
//! per key.
use super::documents::chosen_operation;
use super::walk::{Spreads, Visit, Walker};
use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, SelectionSet},
};

/// The response keys of a selection in order, each with the order of its own selection.
#[derive(Debug, Default)]
struct KeyOrder(Vec<(Name, KeyOrder)>);

/// Fields of `sets` (merged, fragments expanded once per level, `@skip`/`@include` applied)
/// in order of first appearance, each with the selection sets of every field that shares its
/// response key.
fn plan(sets: &[&SelectionSet], walker: &Walker<'_>, depth: usize) -> KeyOrder {
    let mut keys: Vec<(&Name, Vec<&SelectionSet>)> = Vec::new();
    for set in sets {
        let _ = walker.level(set, &mut Vec::new(), &mut |visit, _| {
            if let Visit::Field(f, _) = visit {
                let key = &f.node.response_key().node;
                let sub = &f.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key, vec![sub])),
                }
            }
            Ok::<(), ()>(())
        });
    }
    KeyOrder(
        keys.into_iter()
            .map(|(key, subs)| {
                // Deeper than any operation the guard lets through: left as it is.
                let inner = if depth > 64 || subs.iter().all(|s| s.items.is_empty()) {
                    KeyOrder::default()
                } else {
                    plan(&subs, walker, depth + 1)
                };
                (key.clone(), inner)
            })
            .collect(),
    )
}

fn apply(value: &mut Value, order: &KeyOrder) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| apply(item, order)),
        Value::Object(map) => {
            let mut next = 0;
            for (key, inner) in &order.0 {
                let at = match map.get_index(next) {
                    Some((k, _)) if k == key => next,
                    _ => match map.get_index_of(key) {
                        Some(i) => {
                            map.move_index(i, next);
                            next
                        }
                        // Skipped, or from a fragment on another type.
                        None => continue,
                    },
                };
                if !inner.0.is_empty()
                    && let Some((_, v)) = map.get_index_mut(at)
                {
                    apply(v, inner);
                }
                next += 1;
            }
        }
        _ => {}
    }
}

/// Orders the keys of `data`, the answer to the operation `operation_name` of `doc` run with
/// `variables`.
pub fn order_response(
    data: &mut Value,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) {
    if !matches!(data, Value::Object(_)) {
        return;
    }
    if let Some(op) = chosen_operation(doc, operation_name) {
        let walker = Walker::new(&doc.fragments, Some(variables), Spreads::OncePerLevel);
        apply(data, &plan(&[&op.node.selection_set.node], &walker, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
        match v {
            Value::Object(map) => &map[key],
            _ => panic!("not an object: {v}"),
        }
    }

    fn keys(v: &Value) -> Vec<String> {
        match v {
            Value::Object(map) => map.keys().map(|k| k.to_string()).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn keys_follow_the_selection_through_lists_aliases_and_fragments() {
        let doc = parse_query(
            "{ a: complaints { totalCount pageInfo { end } edges { node { id ...N } } } m { x } }
             fragment N on Complaint { number ... on Complaint { status } }",
        )
        .expect("query");
        let mut data = Value::from_json(serde_json::json!({
            "m": { "x": 1 },
            "a": {
                "edges": [
                    { "node": { "status": "NEW", "number": "1", "id": "1" } },
                    { "node": { "id": "2", "number": "2", "status": "NEW" } }
                ],
                "pageInfo": { "end": null },
                "totalCount": 2
            }
        }))
        .expect("value");
        order_response(&mut data, &doc, None, &Variables::default());
        assert_eq!(keys(&data), ["a", "m"]);
        let a = at(&data, "a");
        assert_eq!(keys(a), ["totalCount", "pageInfo", "edges"]);
        let Value::List(edges) = at(a, "edges") else { panic!("edges") };
        for edge in edges {
            assert_eq!(keys(at(edge, "node")), ["id", "number", "status"]);
        }
    }

    #[test]
    fn skipped_selections_and_fragment_cycles_are_left_out() {
        // `x` asked first under @skip, then again: the answer's `x` stands after `id`.
        let doc = parse_query(
            "query Q($no: Boolean!) { c { x: number @skip(if: $no) id x: number ...A } }
             fragment A on C { id ...A ...A ...B } fragment B on C { ...A ...B s }",
        )
        .expect("query");
        let mut data =
            Value::from_json(serde_json::json!({ "c": { "s": 1, "x": "1", "id": "1" } }))
                .expect("value");
        let vars = Variables::from_json(serde_json::json!({ "no": true }));
        // Returns (a cycle of spreads expands each fragment once per level).
        order_response(&mut data, &doc, None, &vars);
        assert_eq!(keys(at(&data, "c")), ["id", "x", "s"]);
    }
}
