//! One complaint with the lists hanging off it, in one statement on Postgres: the row under
//! the caller's scope, and each list asked for as a correlated subquery aggregated into a
//! JSON array of arrays (timestamps as epoch microseconds, exact integers). The details page
//! then costs one statement and one round trip where it cost four statements and two.
//!
//! A list's rows need no scope of their own: they hang off the one row the scope let through
//! (`history.rs` reads lists of many complaints, so there each read carries the scope).
//! Responses keep the reader's notes rule, as everywhere.
use super::{history::note_sql, scope::Scoped};
use crate::{Error, Result, auth::NoteScope};
use chrono::{DateTime, Utc};
use entity::{assignment, complaint, delivery, enums::ComplaintStatus, response, status_event};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult,
    QueryFilter, QueryResult, QuerySelect, QueryTrait, sea_query::Expr,
};
use serde::de::DeserializeOwned;

/// Which lists to read with the row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lists {
    pub assignments: bool,
    pub events: bool,
    pub responses: bool,
    /// The number of responses the reader may see, without the responses.
    pub response_count: bool,
    pub deliveries: bool,
}

/// A complaint and the lists asked for (`None`: not asked), each oldest first.
pub(crate) struct Details {
    pub row: complaint::Model,
    pub assignments: Option<Vec<assignment::Model>>,
    pub events: Option<Vec<status_event::Model>>,
    pub responses: Option<Vec<response::Model>>,
    pub response_count: Option<i64>,
    pub deliveries: Option<Vec<delivery::Model>>,
}

/// An instant as epoch microseconds, in SQL.
macro_rules! micros {
    ($col:literal) => {
        concat!("(extract(epoch FROM ", $col, ") * 1000000)::bigint")
    };
}

const ASSIGNMENTS: &str = concat!(
    "(SELECT json_agg(json_build_array(a.id, a.complaint_id, a.department_id, a.staff_id, \
     a.assigned_by, a.actor_department_id, ",
    micros!("a.assigned_at"),
    ", a.reason) ORDER BY a.assigned_at, a.id)::text \
     FROM assignment a WHERE a.complaint_id = \"complaint\".\"id\")"
);

const EVENTS: &str = concat!(
    "(SELECT json_agg(json_build_array(e.id, e.complaint_id, e.from_status, e.to_status, \
     e.actor, e.actor_department_id, e.comment, ",
    micros!("e.at"),
    ") ORDER BY e.at, e.id)::text \
     FROM status_event e WHERE e.complaint_id = \"complaint\".\"id\")"
);

const RESPONSES: &str = concat!(
    "(SELECT json_agg(json_build_array(response.id, response.complaint_id, \
     response.department_id, response.staff_id, response.text, response.is_public, ",
    micros!("response.at"),
    ") ORDER BY response.at, response.id)::text \
     FROM response WHERE response.complaint_id = \"complaint\".\"id\" AND "
);

const RESPONSE_COUNT: &str =
    "(SELECT COUNT(*) FROM response WHERE response.complaint_id = \"complaint\".\"id\" AND ";

const DELIVERIES: &str = concat!(
    "(SELECT json_agg(json_build_array(d.id, d.complaint_id, d.target, d.dedup_key, d.body, \
     d.state, d.attempts, d.last_error, ",
    micros!("d.next_attempt_at"),
    ", d.claimed_by, ",
    micros!("d.claimed_until"),
    ", ",
    micros!("d.created_at"),
    ", ",
    micros!("d.delivered_at"),
    ") ORDER BY d.id)::text FROM delivery d WHERE d.complaint_id = \"complaint\".\"id\")"
);

/// Complaint `id` if it lies in `scoped`, with the `lists` asked for (responses as `notes`
/// lets the reader see them). Postgres only: elsewhere the row and its lists are read apart.
pub(crate) async fn get(
    db: &DatabaseConnection,
    scoped: Scoped,
    id: i64,
    lists: Lists,
    notes: NoteScope,
) -> Result<Details> {
    debug_assert_eq!(db.get_database_backend(), DbBackend::Postgres);
    let mut select = scoped.complaints(DbBackend::Postgres).filter(complaint::Column::Id.eq(id));
    // Only the lists asked for are written out.
    for (name, sql) in [
        ("l_assignments", lists.assignments.then(|| ASSIGNMENTS.to_owned())),
        ("l_events", lists.events.then(|| EVENTS.to_owned())),
        ("l_responses", lists.responses.then(|| format!("{RESPONSES}{})", note_sql(notes)))),
        (
            "l_response_count",
            lists.response_count.then(|| format!("{RESPONSE_COUNT}{})", note_sql(notes))),
        ),
        ("l_deliveries", lists.deliveries.then(|| DELIVERIES.to_owned())),
    ] {
        if let Some(sql) = sql {
            select = select.column_as(Expr::cust(sql), name);
        }
    }
    let found = db.query_one_raw(select.build(DbBackend::Postgres)).await?;
    let row = found.ok_or_else(|| Error::NotFound(format!("complaint {id}")))?;
    Ok(Details {
        row: complaint::Model::from_query_result(&row, "")?,
        assignments: list(&row, lists.assignments, "l_assignments", assignment)?,
        events: list(&row, lists.events, "l_events", status_event)?,
        responses: list(&row, lists.responses, "l_responses", response)?,
        response_count: match lists.response_count {
            true => Some(row.try_get::<i64>("", "l_response_count")?),
            false => None,
        },
        deliveries: list(&row, lists.deliveries, "l_deliveries", delivery)?,
    })
}

/// The list in column `name` of `row`, each element made by `make`; `None` unless `asked`.
fn list<T: DeserializeOwned, M>(
    row: &QueryResult,
    asked: bool,
    name: &str,
    make: fn(T) -> Result<M>,
) -> Result<Option<Vec<M>>> {
    if !asked {
        return Ok(None);
    }
    // No rows aggregate to NULL.
    let Some(text) = row.try_get::<Option<String>>("", name)? else { return Ok(Some(vec![])) };
    let items: Vec<T> = serde_json::from_str(&text)
        .map_err(|e| Error::Internal(format!("{name} of a complaint did not decode: {e}")))?;
    items.into_iter().map(make).collect::<Result<_>>().map(Some)
}

fn at(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::Internal(format!("instant {micros} µs is out of range")))
}

fn at_opt(micros: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    micros.map(at).transpose()
}

fn status(text: String) -> Result<ComplaintStatus> {
    Ok(ComplaintStatus::try_from_value(&text)?)
}

type AssignmentRow = (i64, i64, i32, Option<i64>, String, Option<i32>, i64, Option<String>);

fn assignment(r: AssignmentRow) -> Result<assignment::Model> {
    let (id, complaint_id, department_id, staff_id, assigned_by, actor_department_id, t, reason) =
        r;
    Ok(assignment::Model {
        id,
        complaint_id,
        department_id,
        staff_id,
        assigned_by,
        actor_department_id,
        assigned_at: at(t)?,
        reason,
    })
}

type EventRow = (i64, i64, Option<String>, String, String, Option<i32>, Option<String>, i64);

fn status_event(r: EventRow) -> Result<status_event::Model> {
    let (id, complaint_id, from, to, actor, actor_department_id, comment, t) = r;
    Ok(status_event::Model {
        id,
        complaint_id,
        from_status: from.map(status).transpose()?,
        to_status: status(to)?,
        actor,
        actor_department_id,
        comment,
        at: at(t)?,
    })
}

type ResponseRow = (i64, i64, Option<i32>, Option<i64>, String, bool, i64);

fn response(r: ResponseRow) -> Result<response::Model> {
    let (id, complaint_id, department_id, staff_id, text, is_public, t) = r;
    Ok(response::Model { id, complaint_id, department_id, staff_id, text, is_public, at: at(t)? })
}

type DeliveryRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    i64,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
);

fn delivery(r: DeliveryRow) -> Result<delivery::Model> {
    let (
        id,
        complaint_id,
        target,
        dedup_key,
        body,
        state,
        attempts,
        last_error,
        next,
        claimed_by,
        until,
        created,
        delivered,
    ) = r;
    Ok(delivery::Model {
        id,
        complaint_id,
        target,
        dedup_key,
        body,
        state,
        attempts,
        last_error,
        next_attempt_at: at(next)?,
        claimed_by,
        claimed_until: at_opt(until)?,
        created_at: at(created)?,
        delivered_at: at_opt(delivered)?,
    })
}
