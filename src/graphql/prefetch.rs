//! Eager batching for complaint lists: the resolver that fetched a page looks ahead at the
//! selection and loads every requested relation of all its rows at once — one statement per
//! relation, the independent ones in parallel — before any row is resolved. Rows then resolve
//! their relations from memory, with no per-row waiting or timers.
use crate::{Result, store};
use async_graphql::Lookahead;
use entity::{assignment, complaint, department, municipality, response, staff, status_event};
use sea_orm::DatabaseConnection;
use std::collections::{BTreeSet, HashMap};

/// Which relations of complaints a selection asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    municipality: bool,
    department: bool,
    assignee: bool,
    assignments: bool,
    assignment_department: bool,
    assignment_assignee: bool,
    history: bool,
    responses: bool,
    response_department: bool,
    response_staff: bool,
    response_count: bool,
}

impl Wants {
    /// The relations selected under a `Complaint` selection.
    pub fn of(node: &Lookahead<'_>) -> Self {
        let a = node.field("assignments");
        let r = node.field("responses");
        Wants {
            municipality: node.field("municipality").exists(),
            department: node.field("department").exists(),
            assignee: node.field("assignee").exists(),
            assignments: a.exists(),
            assignment_department: a.field("department").exists(),
            assignment_assignee: a.field("assignee").exists(),
            history: node.field("history").exists(),
            responses: r.exists(),
            response_department: r.field("department").exists(),
            response_staff: r.field("staff").exists(),
            response_count: node.field("responseCount").exists(),
        }
    }

    /// Relations wanted by either selection.
    pub fn or(self, o: Self) -> Self {
        Wants {
            municipality: self.municipality || o.municipality,
            department: self.department || o.department,
            assignee: self.assignee || o.assignee,
            assignments: self.assignments || o.assignments,
            assignment_department: self.assignment_department || o.assignment_department,
            assignment_assignee: self.assignment_assignee || o.assignment_assignee,
            history: self.history || o.history,
            responses: self.responses || o.responses,
            response_department: self.response_department || o.response_department,
            response_staff: self.response_staff || o.response_staff,
            response_count: self.response_count || o.response_count,
        }
    }
}

/// Related rows of a set of complaints. A relation that was not prefetched is absent and
/// resolves through the per-request DataLoaders instead.
#[derive(Debug, Default)]
pub struct Related {
    /// Municipalities by id.
    pub municipalities: Option<HashMap<i32, municipality::Model>>,
    /// Departments by id.
    pub departments: Option<HashMap<i32, department::Model>>,
    /// Staff by id.
    pub staff: Option<HashMap<i64, staff::Model>>,
    /// Assignments by complaint.
    pub assignments: Option<HashMap<i64, Vec<assignment::Model>>>,
    /// Status events by complaint.
    pub events: Option<HashMap<i64, Vec<status_event::Model>>>,
    /// Responses by complaint.
    pub responses: Option<HashMap<i64, Vec<response::Model>>>,
    /// Response counts by complaint (absent key: zero).
    pub response_counts: Option<HashMap<i64, i64>>,
}

async fn maybe<T, F: Future<Output = Result<T>>>(
    want: bool,
    f: impl FnOnce() -> F,
) -> Result<Option<T>> {
    if want { f().await.map(Some) } else { Ok(None) }
}

/// Loads what `wants` asks for, for all `rows`: lists first, then the departments and staff
/// referenced by rows and lists, in one statement each.
pub async fn load(
    db: &DatabaseConnection,
    rows: &[complaint::Model],
    wants: Wants,
) -> Result<Related> {
    if rows.is_empty() {
        return Ok(Related::default());
    }
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let munis: Vec<i32> =
        rows.iter().map(|c| c.municipality_id).collect::<BTreeSet<_>>().into_iter().collect();
    let only_count = wants.response_count && !wants.responses;
    let (municipalities, assignments, events, responses, counts) = tokio::try_join!(
        maybe(wants.municipality, || store::directory::municipalities_by_id(db, &munis)),
        maybe(wants.assignments, || store::history::assignments(db, &ids)),
        maybe(wants.history, || store::history::status_events(db, &ids)),
        maybe(wants.responses, || store::history::responses(db, &ids)),
        maybe(only_count, || store::history::response_counts(db, &ids)),
    )?;
    let response_counts = match (&responses, counts) {
        (_, Some(counts)) => Some(counts),
        (Some(r), None) if wants.response_count => {
            Some(r.iter().map(|(id, list)| (*id, list.len() as i64)).collect())
        }
        _ => None,
    };

    let mut dept_ids = BTreeSet::new();
    let mut staff_ids = BTreeSet::new();
    for c in rows {
        if wants.department {
            dept_ids.extend(c.department_id);
        }
        if wants.assignee {
            staff_ids.extend(c.assignee_id);
        }
    }
    for a in assignments.iter().flat_map(HashMap::values).flatten() {
        if wants.assignment_department {
            dept_ids.insert(a.department_id);
        }
        if wants.assignment_assignee {
            staff_ids.extend(a.staff_id);
        }
    }
    for r in responses.iter().flat_map(HashMap::values).flatten() {
        if wants.response_department {
            dept_ids.extend(r.department_id);
        }
        if wants.response_staff {
            staff_ids.extend(r.staff_id);
        }
    }
    let dept_ids: Vec<i32> = dept_ids.into_iter().collect();
    let staff_ids: Vec<i64> = staff_ids.into_iter().collect();
    let want_depts = wants.department || wants.assignment_department || wants.response_department;
    let want_staff = wants.assignee || wants.assignment_assignee || wants.response_staff;
    let (departments, staff) = tokio::try_join!(
        maybe(want_depts, || store::directory::departments_by_id(db, &dept_ids)),
        maybe(want_staff, || store::directory::staff_by_id(db, &staff_ids)),
    )?;
    Ok(Related {
        municipalities,
        departments,
        staff,
        assignments,
        events,
        responses,
        response_counts,
    })
}
