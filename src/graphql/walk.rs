//! The one walker of an operation's selections, used by every pass that reads them before or
//! after execution (the guard's limits and field rules, whether an operation may be cached,
//! the answer's key order): fragment spreads expanded, `@skip`/`@include` applied when the
//! variables are known, cycles cut.
//!
//! A level's fields come in document order, each with the type condition of the innermost
//! fragment around it. Callers recurse into a field's own selection with [`Walker::level`]
//! from inside their visit, so the spreads being expanded stay on the path and a fragment that
//! spreads itself, however deep, is not expanded again.
use async_graphql::{
    Name, Positioned, Value, Variables,
    parser::types::{Directive, Field, FragmentDefinition, Selection, SelectionSet},
};
use std::collections::HashMap;

/// The fragments of a document by name.
pub(crate) type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The fragment spreads being expanded around a level.
pub(crate) type Path<'a> = Vec<&'a Name>;

/// What a walk calls for each selection it visits; an error stops the walk.
pub(crate) type Visitor<'v, 'a, E> = dyn FnMut(Visit<'a>, &mut Path<'a>) -> Result<(), E> + 'v;

/// How often one fragment is expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spreads {
    /// Once per level: a repeated spread adds no key to the answer.
    OncePerLevel,
    /// Every time it is spread (the executor resolves each spread again, so the guard counts
    /// each to see a fragment bomb); only a spread already on the path is cut.
    EveryTime,
}

/// What a visit sees.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Visit<'a> {
    /// A field, under the type condition of the innermost fragment around it (`None`: no
    /// fragment names one, the enclosing type holds).
    Field(&'a Positioned<Field>, Option<&'a str>),
    /// A fragment spread or inline fragment about to be entered: whether it (or the
    /// fragment's definition) carries directives, and its type condition.
    Fragment { directed: bool, on: Option<&'a str> },
}

/// Walks the selections of one document.
#[derive(Clone, Copy)]
pub(crate) struct Walker<'a> {
    fragments: &'a Fragments,
    /// Known variables apply `@skip`/`@include`; without them every selection counts (a
    /// check before execution must assume the worst).
    variables: Option<&'a Variables>,
    spreads: Spreads,
}

impl<'a> Walker<'a> {
    /// A walker over `fragments`.
    pub(crate) fn new(
        fragments: &'a Fragments,
        variables: Option<&'a Variables>,
        spreads: Spreads,
    ) -> Self {
        Walker { fragments, variables, spreads }
    }

    /// Visits one level of `set`: its fields in document order, fragments expanded. `path`
    /// holds the spreads being expanded around this level (empty at the root); the walk
    /// stops at the first error a visit returns.
    pub(crate) fn level<E>(
        &self,
        set: &'a SelectionSet,
        path: &mut Path<'a>,
        visit: &mut Visitor<'_, 'a, E>,
    ) -> Result<(), E> {
        let mut seen = Vec::new();
        self.walk(set, None, path, &mut seen, visit)
    }

    fn walk<E>(
        &self,
        set: &'a SelectionSet,
        on: Option<&'a str>,
        path: &mut Vec<&'a Name>,
        seen: &mut Vec<&'a Name>,
        visit: &mut Visitor<'_, 'a, E>,
    ) -> Result<(), E> {
        for selection in &set.items {
            if self.skipped(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => visit(Visit::Field(field, on), path)?,
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    // An unknown fragment is validation's to report.
                    let Some(fragment) = self.fragments.get(name) else { continue };
                    let repeated = match self.spreads {
                        Spreads::OncePerLevel => seen.contains(&name),
                        Spreads::EveryTime => false,
                    };
                    if repeated || path.contains(&name) {
                        continue;
                    }
                    let directed =
                        !spread.node.directives.is_empty() || !fragment.node.directives.is_empty();
                    let condition = Some(fragment.node.type_condition.node.on.node.as_str());
                    visit(Visit::Fragment { directed, on: condition }, path)?;
                    seen.push(name);
                    path.push(name);
                    let result =
                        self.walk(&fragment.node.selection_set.node, condition, path, seen, visit);
                    path.pop();
                    result?;
                }
                Selection::InlineFragment(inline) => {
                    let condition =
                        inline.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                    let directed = !inline.node.directives.is_empty();
                    visit(Visit::Fragment { directed, on: condition }, path)?;
                    self.walk(
                        &inline.node.selection_set.node,
                        condition.or(on),
                        path,
                        seen,
                        visit,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Whether `@skip`/`@include` leave a selection out (as the executor decides).
    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        let Some(variables) = self.variables else { return false };
        directives.iter().any(|d| {
            let include = match d.node.name.node.as_str() {
                "skip" => false,
                "include" => true,
                _ => return false,
            };
            let condition = d.node.get_argument("if").map(|v| {
                v.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(()))
            });
            matches!(condition, Some(Ok(Value::Boolean(b))) if b != include)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    /// Field names of the operation, depth-first, as the walker yields them.
    fn names(query: &str, spreads: Spreads, vars: Option<serde_json::Value>) -> Vec<String> {
        let doc = parse_query(query).expect("valid");
        let vars = vars.map(Variables::from_json);
        let walker = Walker::new(&doc.fragments, vars.as_ref(), spreads);
        let (_, op) = doc.operations.iter().next().expect("an operation");
        let mut out = Vec::new();
        fn go<'a>(
            w: &Walker<'a>,
            set: &'a SelectionSet,
            path: &mut Vec<&'a Name>,
            out: &mut Vec<String>,
        ) {
            let _ = w.level(set, path, &mut |v, path| {
                if let Visit::Field(f, _) = v {
                    out.push(f.node.name.node.to_string());
                    go(w, &f.node.selection_set.node, path, out);
                }
                Ok::<(), ()>(())
            });
        }
        go(&walker, &op.node.selection_set.node, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn fragments_directives_and_cycles() {
        let q = "query($no: Boolean!) { a ...F ...F b @skip(if: true) c @include(if: $no) }
                 fragment F on T { d e { ...F } }";
        // Once per level: F's fields once; F inside itself is cut.
        let vars = serde_json::json!({ "no": false });
        assert_eq!(names(q, Spreads::OncePerLevel, Some(vars)), ["a", "d", "e"]);
        // Every spread counts, and without variables every selection counts.
        assert_eq!(names(q, Spreads::EveryTime, None), ["a", "d", "e", "d", "e", "b", "c"]);
    }
}
