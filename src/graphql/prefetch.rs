//! Eager batching for complaint lists: the resolver that fetched a page reads its selection
//! (with the document walker, `@skip`/`@include` applied; what each field reads is the field
//! registry's) and loads every requested history list of all its rows at once — one statement
//! per list, in parallel — before any row is resolved. Rows then resolve them from memory, with
//! no per-row waiting or timers. Directory references resolve from the request's directory
//! snapshot, carried along so no field has to await it.
use super::complaint_row::Related;
use super::fields::{COMPLAINT, spec::Reads};
use super::walk::{Spreads, Visit, Walker};
use crate::store::{self, complaints::Columns, details::Lists, directory::Snapshot, scope::Scoped};
use crate::{
    Result,
    auth::{
        NoteScope, Principal,
        policy::{Access, policy_of},
    },
};
use async_graphql::{Context, parser::types::SelectionSet};
use entity::complaint;
use sea_orm::{DatabaseConnection, DbBackend};
use std::{collections::HashMap, sync::Arc};

/// What the `Complaint` selections of the current field read: the field's own selection when
/// `path` is empty, else the selections under it along `path` (`["edges", "node"]`), every
/// alias and fragment included and `@skip`/`@include` applied as the executor will.
pub(crate) fn selected(ctx: &Context<'_>, path: &[&str]) -> Reads {
    let env = ctx.query_env;
    let walker = Walker::new(&env.fragments, Some(&env.variables), Spreads::OncePerLevel);
    reads_under(&walker, &ctx.item.node.selection_set.node, path)
}

fn reads_under<'a>(walker: &Walker<'a>, set: &'a SelectionSet, path: &[&str]) -> Reads {
    let mut reads = Reads::NOTHING;
    let _ = walker.level(set, &mut Vec::new(), &mut |visit, _| {
        if let Visit::Field(f, _) = visit {
            let name = f.node.name.node.as_str();
            let sub = &f.node.selection_set.node;
            reads = match path.split_first() {
                Some((next, rest)) if *next == name => reads.or(reads_under(walker, sub, rest)),
                Some(_) => reads,
                None => COMPLAINT.field(name).map_or(reads, |field| reads.or(field.reads)),
            };
        }
        Ok::<(), ()>(())
    });
    reads
}

async fn maybe<T, F: Future<Output = Result<T>>>(
    want: bool,
    f: impl FnOnce() -> F,
) -> Result<Option<T>> {
    if want { f().await.map(Some) } else { Ok(None) }
}

/// Complaint `id` if it lies in `principal`'s scope, with what `wants` asks for loaded: on
/// Postgres in one statement (`store::details`), elsewhere the row and then [`load`].
pub(crate) async fn load_one(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
    wants: Reads,
    directory: Arc<Snapshot>,
) -> Result<(complaint::Model, Related)> {
    let scoped = Scoped::of(principal);
    if db.get_database_backend() != DbBackend::Postgres {
        let row = store::complaints::get(db, scoped, id).await?;
        let related = load(db, principal, &[row.id], wants, None, Columns::ALL, directory).await?;
        return Ok((row, related));
    }
    let lists = lists_to_read(principal, wants, false);
    let got = store::details::get(db, scoped, id, lists, NoteScope::of(principal)).await?;
    let read = Related {
        assignments: got.assignments.map(|l| HashMap::from([(id, l)])),
        events: got.events.map(|l| HashMap::from([(id, l)])),
        responses: got.responses.map(|l| HashMap::from([(id, l)])),
        deliveries: got.deliveries.map(|l| HashMap::from([(id, l)])),
        response_counts: None,
        loaded: Columns::ALL,
        directory,
    };
    let counts = got.response_count.map(|n| HashMap::from([(id, n)]));
    Ok((got.row, completed(read, wants, counts)))
}

/// The lists to read for `wants` as `principal`: deliveries only for roles that may see
/// them (the guard refuses the field to others), and the response count alone only when the
/// responses are not read and no count is known.
fn lists_to_read(principal: &Principal, wants: Reads, count_known: bool) -> Lists {
    Lists {
        assignments: wants.assignments,
        events: wants.history,
        responses: wants.responses,
        response_count: wants.response_count && !wants.responses && !count_known,
        deliveries: wants.deliveries && policy_of(principal.role).connectors != Access::Deny,
    }
}

/// `read` (its lists as read, no counts yet) with the response counts `wants` asks for, from
/// `counts` or else from the responses, and deliveries refused to the role as none.
fn completed(mut read: Related, wants: Reads, counts: Option<HashMap<i64, i64>>) -> Related {
    read.deliveries = read.deliveries.or_else(|| wants.deliveries.then(HashMap::new));
    read.response_counts = match (&read.responses, counts) {
        (_, Some(counts)) => Some(counts),
        (Some(r), None) if wants.response_count => {
            Some(r.iter().map(|(id, list)| (*id, list.len() as i64)).collect())
        }
        _ => None,
    };
    read
}

/// Loads what `wants` asks for, for those of the complaints `ids` in `principal`'s scope,
/// with the responses it may read.
/// Response counts come from `known_counts` (the page query computes them) or from the
/// responses when those are loaded anyway.
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    wants: Reads,
    known_counts: Option<HashMap<i64, i64>>,
    loaded: Columns,
    directory: Arc<Snapshot>,
) -> Result<Related> {
    if ids.is_empty() {
        return Ok(Related { loaded, directory, ..Related::default() });
    }
    let (scoped, notes) = (Scoped::of(principal), NoteScope::of(principal));
    let lists = lists_to_read(principal, wants, known_counts.is_some());
    let (assignments, events, responses, counts, deliveries) = tokio::try_join!(
        maybe(lists.assignments, || store::history::assignments(db, scoped, ids)),
        maybe(lists.events, || store::history::status_events(db, scoped, ids)),
        maybe(lists.responses, || store::history::responses(db, scoped, ids, notes)),
        maybe(lists.response_count, || store::history::response_counts(db, scoped, ids, notes)),
        maybe(lists.deliveries, || store::history::deliveries(db, scoped, ids)),
    )?;
    let read = Related {
        assignments,
        events,
        responses,
        deliveries,
        response_counts: None,
        loaded,
        directory,
    };
    Ok(completed(read, wants, counts.or(known_counts)))
}
