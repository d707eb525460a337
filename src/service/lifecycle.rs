//! The changes staff make to a complaint — assign, respond, move through the lifecycle,
//! reject, escalate — each checked against the roles matrix and the lifecycle, then written
//! in one transaction with its history (`store::lifecycle`).
use crate::{
    Error, Result,
    auth::{
        Principal,
        policy::{self, Action, ActsFor},
    },
    domain::lifecycle,
    service::{Changed, Notifier, committed, ingest::MAX_TEXT_BYTES},
    store::{
        Db,
        actor::Actor,
        directory::Snapshot,
        lifecycle::{NewResponse, Plan, change},
        scope::Scoped,
    },
};
use chrono::{DateTime, Utc};
use entity::{ComplaintStatus, complaint};
use std::sync::Arc;

/// Who and when: the common arguments of every change.
#[derive(Debug, Clone)]
pub struct By<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// The directory to check departments and staff against.
    pub directory: Arc<Snapshot>,
    /// The request's instant.
    pub now: DateTime<Utc>,
    /// Told of every committed change.
    pub notifier: &'a Notifier,
}

impl By<'_> {
    fn require(&self, action: Action, what: &str) -> Result<()> {
        if policy::may(self.principal, action) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("role `{}` may not {what}", self.principal.role.as_str())))
        }
    }

    /// The caller as written into the history, with the body it acts for (the matrix says
    /// which: its department, its municipality's administration, or the center).
    fn actor(&self) -> Actor {
        Actor { login: self.principal.actor(), department_id: self.acting_department() }
    }

    /// The department the caller acts for (`None`: the center).
    fn acting_department(&self) -> Option<i32> {
        match policy::acts_for(self.principal) {
            ActsFor::OwnDepartment => self.principal.department_id,
            ActsFor::OwnAdministration => self
                .principal
                .municipality_id
                .and_then(|m| self.directory.administration_of(m))
                .map(|d| d.id),
            ActsFor::Center => None,
        }
    }

    /// The rows of its scope the caller's changes may touch (a ministry: those currently
    /// assigned to it).
    fn require_current(&self, row: &complaint::Model) -> Result<()> {
        policy::check_acts_on(self.principal, row.department_id)
    }
}

/// Runs one change in the caller's scope and announces it once it is committed.
async fn apply(
    db: &Db,
    by: &By<'_>,
    id: i64,
    expected_version: i32,
    decide: impl FnOnce(&complaint::Model) -> Result<Plan>,
) -> Result<complaint::Model> {
    let scoped = Scoped::of(by.principal);
    let row = change(db, scoped, id, expected_version, &by.actor(), by.now, decide).await?;
    committed(by.notifier, Changed::Complaints).await;
    Ok(row)
}

/// A plan that moves `row` to `to`, if the lifecycle allows it.
fn moved(row: &complaint::Model, to: ComplaintStatus) -> Result<Plan> {
    if lifecycle::allows(row.status, to) {
        Ok(Plan { status: Some(to), ..Plan::default() })
    } else {
        Err(Error::InvalidTransition(lifecycle::refusal(row.status, to)))
    }
}

fn required_text(value: &str, name: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::bad_input(format!("`{name}` must not be empty")));
    }
    if value.len() >= MAX_TEXT_BYTES {
        return Err(Error::bad_input(format!("`{name}` must be under {MAX_TEXT_BYTES} bytes")));
    }
    Ok(value.to_owned())
}

/// Routes a complaint to `department` (and optionally a staff member of it). Operators route
/// any complaint; a ministry hands on one currently assigned to it.
pub async fn assign(
    db: &Db,
    by: &By<'_>,
    id: i64,
    department: i32,
    assignee: Option<i64>,
    expected_version: i32,
    reason: Option<String>,
) -> Result<complaint::Model> {
    let operator = policy::may(by.principal, Action::Assign);
    if !operator {
        by.require(Action::Reassign, "assign complaints")?;
    }
    if by.directory.department(department).is_none() {
        return Err(Error::bad_input(format!("unknown department {department}")));
    }
    if let Some(staff) = assignee {
        match by.directory.staff(staff) {
            None => return Err(Error::bad_input(format!("unknown staff member {staff}"))),
            Some(s) if s.department_id != department => {
                return Err(Error::bad_input(format!(
                    "staff member {staff} works in department {}, not {department}",
                    s.department_id
                )));
            }
            Some(_) => {}
        }
    }
    let reason = reason.map(|r| required_text(&r, "reason")).transpose()?;
    apply(db, by, id, expected_version, |row| {
        if !operator {
            by.require_current(row)?;
        }
        let to_department = moved(row, ComplaintStatus::Assigned)?;
        Ok(Plan { assign: Some((department, assignee)), comment: reason, ..to_department })
    })
    .await
}

/// Escalates a complaint to the center (its department of kind `center`).
pub async fn escalate(
    db: &Db,
    by: &By<'_>,
    id: i64,
    reason: &str,
    expected_version: i32,
) -> Result<complaint::Model> {
    by.require(Action::Escalate, "escalate complaints")?;
    let reason = required_text(reason, "reason")?;
    let center = by
        .directory
        .departments
        .iter()
        .find(|d| d.kind == "center")
        .map(|d| d.id)
        .ok_or_else(|| Error::Internal("the directory has no center department".into()))?;
    apply(db, by, id, expected_version, |row| {
        let to_center = moved(row, ComplaintStatus::Assigned)?;
        Ok(Plan { assign: Some((center, None)), comment: Some(reason), ..to_center })
    })
    .await
}

/// Rejects a complaint (spam, duplicate, out of scope) with a reason.
pub async fn reject(
    db: &Db,
    by: &By<'_>,
    id: i64,
    reason: &str,
    expected_version: i32,
) -> Result<complaint::Model> {
    by.require(Action::Reject, "reject complaints")?;
    let reason = required_text(reason, "reason")?;
    apply(db, by, id, expected_version, |row| {
        Ok(Plan { comment: Some(reason), ..moved(row, ComplaintStatus::Rejected)? })
    })
    .await
}

/// Moves a complaint to IN_PROGRESS, ANSWERED, RESOLVED (the responsible ministry) or
/// REOPENED (operators). Routing and rejection have mutations of their own.
pub async fn set_status(
    db: &Db,
    by: &By<'_>,
    id: i64,
    to: ComplaintStatus,
    expected_version: i32,
    comment: Option<String>,
) -> Result<complaint::Model> {
    let action = match to {
        ComplaintStatus::InProgress | ComplaintStatus::Answered => Some(Action::Progress),
        ComplaintStatus::Resolved => Some(Action::Resolve),
        ComplaintStatus::Reopened => Some(Action::Reopen),
        ComplaintStatus::Assigned => {
            return Err(Error::bad_input(
                "use assignComplaint or escalateComplaint to route a complaint",
            ));
        }
        ComplaintStatus::Rejected => {
            return Err(Error::bad_input("use rejectComplaint with a reason"));
        }
        ComplaintStatus::New => None,
    };
    if let Some(action) = action {
        by.require(action, &format!("set status {}", lifecycle::name(to)))?;
    }
    let comment = comment.map(|c| required_text(&c, "comment")).transpose()?;
    apply(db, by, id, expected_version, |row| {
        by.require_current(row)?;
        Ok(Plan { comment, ..moved(row, to)? })
    })
    .await
}

/// Adds an answer to the citizen (public) or an internal note, on an open complaint: the
/// ministry it is assigned to, or the municipality it concerns.
pub async fn respond(
    db: &Db,
    by: &By<'_>,
    id: i64,
    text: &str,
    public: bool,
    expected_version: i32,
) -> Result<complaint::Model> {
    by.require(Action::Respond, "respond to complaints")?;
    let text = required_text(text, "text")?;
    // A municipality writes as its administration.
    let department = by.acting_department();
    apply(db, by, id, expected_version, |row| {
        by.require_current(row)?;
        if !lifecycle::is_open(row.status) {
            return Err(Error::InvalidTransition(format!(
                "a {} complaint takes no more responses",
                lifecycle::name(row.status)
            )));
        }
        Ok(Plan {
            response: Some(NewResponse { text, public, department_id: department }),
            ..Plan::default()
        })
    })
    .await
}
