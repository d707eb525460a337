//! Writing ingested complaints: one transaction per batch, idempotent by (source,
//! external_id) through the unique index — a delivery that loses the race to another
//! connection or replica finds the winner's row and writes nothing.
use super::{
    Db,
    actor::{Actor, status_line},
    bulk,
    complaints::search_text,
    connectors, deliveries,
    events::{self, Kind, NewEvent},
    kpi_blocks,
    scope::Scoped,
};
use crate::domain::kpi_entry::Entry;
use crate::{
    Result,
    domain::{
        routing::Rule,
        sla::{Calendar, Policy},
    },
};
use chrono::{DateTime, Utc};
use entity::{
    ComplaintStatus, Source, assignment,
    complaint::{self, Column as C},
    complaint_search, holiday, municipality, routing_rule, sla_policy, status_event,
};
use sea_orm::{
    ActiveValue::NotSet,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, IntoActiveModel, Iterable, ModelTrait, QueryFilter, QuerySelect,
    sea_query::{Alias, DynIden, Expr, ExprTrait, IntoIden, OnConflict, Query},
};
use std::collections::{HashMap, HashSet};

/// Who the routing step is recorded as in the history.
pub const ROUTING_ACTOR: &str = "routing-rules";

/// What ingestion decides with: known municipalities, routing rules, SLA policies, holidays.
#[derive(Debug, Clone)]
pub struct Context {
    /// Municipality ids.
    pub municipalities: HashSet<i32>,
    /// Routing rules.
    pub rules: Vec<Rule>,
    /// SLA policies (with a catch-all).
    pub policies: Vec<Policy>,
    /// The working calendar.
    pub calendar: Calendar,
}

/// Reads the decision context (four small tables).
pub async fn context(db: &DatabaseConnection) -> Result<Context> {
    let municipalities: Vec<i32> = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let rules = routing_rule::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| Rule {
            category: r.category,
            municipality: r.municipality_id,
            department: r.department_id,
        })
        .collect();
    let mut policies: Vec<Policy> =
        sla_policy::Entity::find().all(db).await?.iter().filter_map(Policy::from_row).collect();
    if !policies.iter().any(|p| p.source.is_none() && p.priority.is_none()) {
        // Without a catch-all the deadlines could not be computed; the built-in one applies.
        policies.extend(
            crate::domain::sla::default_policies()
                .into_iter()
                .filter(|p| p.source.is_none() && p.priority.is_none()),
        );
    }
    let holidays = holiday::Entity::find().all(db).await?.into_iter().map(|h| h.day).collect();
    Ok(Context {
        municipalities: municipalities.into_iter().collect(),
        rules,
        policies,
        calendar: Calendar::new(holidays),
    })
}

/// What happened to one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Inserted now.
    Created {
        /// Its id.
        id: i64,
        /// Its number.
        number: String,
    },
    /// Already there (same source and external id): nothing written.
    Duplicate {
        /// The existing row's id.
        id: i64,
        /// The existing row's number.
        number: String,
    },
}

/// The human-readable number of complaint `id`: region code, year, id.
pub fn number_for(id: i64, received_at: DateTime<Utc>) -> String {
    format!("86-{}-{id:07}", received_at.format("%Y"))
}

/// Inserts `rows` (ids and numbers are assigned here; a row with a department is routed) with
/// their registration history, in one transaction. Rows must have distinct (source,
/// external_id) pairs. A connector's `step` is written in the same transaction: if its
/// lease is lost, nothing is.
pub async fn write(
    db: &Db,
    mut rows: Vec<complaint::Model>,
    actor: &str,
    now: DateTime<Utc>,
    step: Option<&connectors::Advance>,
) -> Result<Vec<Written>> {
    if rows.is_empty() && step.is_none() {
        return Ok(Vec::new());
    }
    let (tx, _writer) = db.begin_write().await?;
    if rows.is_empty() {
        if let Some(step) = step {
            connectors::advance(&tx, step, connectors::Tally::default(), now).await?;
        }
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let ids = bulk::reserve_complaint_ids(&tx, rows.len()).await?;
    for (row, id) in rows.iter_mut().zip(ids) {
        row.id = id;
        row.number = number_for(id, row.received_at);
    }
    let created = insert_new(&tx, &rows).await?;
    let existing = find_existing(&tx, rows.iter().filter(|r| !created.contains(&r.id))).await?;
    let fresh: Vec<&complaint::Model> = rows.iter().filter(|r| created.contains(&r.id)).collect();
    write_history(&tx, &fresh, actor, now).await?;
    let registered: Vec<NewEvent<'_>> = fresh
        .iter()
        .map(|c| NewEvent { kind: Kind::Created, complaint: c, previous_department: None, at: now })
        .collect();
    events::append(&tx, &registered).await?;
    let entries = fresh.iter().map(|r| kpi_blocks::Change {
        block: kpi_blocks::block_of(r),
        old: None,
        new: Entry::of(r, false),
    });
    kpi_blocks::apply(&tx, entries.collect()).await?;
    if let Some(step) = step {
        let created = fresh.len() as i32;
        let written =
            connectors::Tally { created, duplicates: rows.len() as i32 - created, rejected: 0 };
        connectors::advance(&tx, step, written, now).await?;
        if step.answers_back {
            let ids: Vec<i64> = fresh.iter().map(|r| r.id).collect();
            deliveries::record_origin(&tx, &step.connector, &ids).await?;
        }
    }
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            if created.contains(&r.id) {
                return Ok(Written::Created { id: r.id, number: r.number.clone() });
            }
            let (id, number) =
                existing.get(&(r.source, r.external_id.clone())).cloned().ok_or_else(|| {
                    crate::Error::Internal(format!(
                        "row {} neither inserted nor found",
                        r.external_id
                    ))
                })?;
            Ok(Written::Duplicate { id, number })
        })
        .collect()
}

/// INSERT … ON CONFLICT (source, external_id) DO NOTHING RETURNING id: the ids inserted.
///
/// On Postgres a routed complaint is written with its department already in
/// `assigned_departments`: its assignment, written next in this transaction
/// (`write_history`), would have the trigger on `assignment` add it, writing the new row a
/// second time — a new version with every index entry anew (a fifth of an ingest's time in
/// Postgres). The trigger then finds the row up to date.
async fn insert_new(tx: &DatabaseTransaction, rows: &[complaint::Model]) -> Result<HashSet<i64>> {
    let backend = tx.get_database_backend();
    let assigned = backend == DbBackend::Postgres;
    let mut columns: Vec<DynIden> = C::iter().map(IntoIden::into_iden).collect();
    if assigned {
        columns.push(Alias::new("assigned_departments").into_iden());
    }
    let mut insert = Query::insert();
    insert.into_table(complaint::Entity).columns(columns);
    for row in rows {
        let mut values: Vec<Expr> = C::iter().map(|c| Expr::val(row.get(c))).collect();
        if assigned {
            // An integer of the row's own, written into the text (as `store::scope` does).
            values.push(Expr::cust(match row.department_id {
                Some(d) => format!("ARRAY[{d}]::integer[]"),
                None => "'{}'::integer[]".to_owned(),
            }));
        }
        insert.values(values).map_err(|e| crate::Error::Internal(e.to_string()))?;
    }
    insert
        .on_conflict(OnConflict::columns([C::Source, C::ExternalId]).do_nothing().to_owned())
        .returning_col(C::Id);
    let stmt = backend.build(&insert);
    let inserted = tx.query_all_raw(stmt).await?;
    Ok(inserted.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?)
}

/// The id and number of already stored complaints, by (source, external_id).
async fn find_existing<'a>(
    tx: &DatabaseTransaction,
    rows: impl Iterator<Item = &'a complaint::Model>,
) -> Result<HashMap<(Source, String), (i64, String)>> {
    let wanted: HashSet<(Source, String)> =
        rows.map(|r| (r.source, r.external_id.clone())).collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    // The write path checks duplicates over every row, whoever delivers. The pairs, not the
    // external ids alone: those are the unique index's second column, and asked alone
    // Postgres walked all of it (31–65 ms at 1M complaints) for every delivery of a duplicate.
    let found: Vec<(i64, String, Source, String)> = Scoped::system()
        .complaints(tx.get_database_backend())
        .select_only()
        .columns([C::Id, C::Number, C::Source, C::ExternalId])
        .filter(stored_as(&wanted))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(found.into_iter().map(|(id, number, s, e)| ((s, e), (id, number))).collect())
}

/// Rows with one of these (source, external_id) pairs: one AND per pair, which both backends
/// answer from the unique index (SQLite takes no list of row values after IN).
fn stored_as(pairs: &HashSet<(Source, String)>) -> Condition {
    pairs.iter().fold(Condition::any(), |any, (source, external_id)| {
        any.add(C::Source.eq(*source).and(C::ExternalId.eq(external_id.as_str())))
    })
}

/// Search text, the registration event, and for routed rows the assignment and its event.
async fn write_history(
    tx: &DatabaseTransaction,
    rows: &[&complaint::Model],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let searches = rows.iter().map(|r| {
        complaint_search::Model {
            complaint_id: r.id,
            text: search_text(&r.number, &r.text, r.address.as_deref()),
        }
        .into_active_model()
    });
    complaint_search::Entity::insert_many(searches).exec_without_returning(tx).await?;
    // Ingestion acts for the center, whoever delivers.
    let (by, routing) = (Actor::center(actor), Actor::center(ROUTING_ACTOR));
    let mut events = Vec::with_capacity(rows.len() * 2);
    let mut assignments = Vec::new();
    for r in rows {
        events.push(status_line(r.id, None, ComplaintStatus::New, &by, r.received_at));
        if let Some(department_id) = r.department_id {
            events.push(status_line(
                r.id,
                Some(ComplaintStatus::New),
                ComplaintStatus::Assigned,
                &routing,
                now,
            ));
            assignments.push(assignment::ActiveModel {
                id: NotSet,
                ..assignment::Model {
                    id: 0,
                    complaint_id: r.id,
                    department_id,
                    staff_id: None,
                    assigned_by: ROUTING_ACTOR.to_owned(),
                    actor_department_id: None,
                    assigned_at: now,
                    reason: Some("по правилу маршрутизации".to_owned()),
                }
                .into_active_model()
            });
        }
    }
    status_event::Entity::insert_many(events).exec_without_returning(tx).await?;
    if !assignments.is_empty() {
        assignment::Entity::insert_many(assignments).exec_without_returning(tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::QueryTrait;

    #[test]
    fn duplicates_are_looked_up_by_the_unique_index_pair() {
        let pairs: HashSet<(Source, String)> =
            [(Source::Vk, "a-1".to_owned()), (Source::Email, "b-2".to_owned())].into();
        let sql = Scoped::system()
            .complaints(DbBackend::Postgres)
            .filter(stored_as(&pairs))
            .build(DbBackend::Postgres);
        let sql = sql.to_string();
        // Each external id with its source: asked alone (the index's second column), Postgres
        // walked the whole index for every duplicate delivered.
        for (source, id) in [("VK", "a-1"), ("EMAIL", "b-2")] {
            let pair = format!(
                r#"("complaint"."source" = '{source}' AND "complaint"."external_id" = '{id}')"#
            );
            assert!(sql.contains(&pair), "{sql}");
        }
    }
}
