//! Who makes a change, and the history line a transition writes: shared by every writer of
//! the store (lifecycle changes, ingestion, the deadline watch).
use chrono::{DateTime, Utc};
use entity::{ComplaintStatus, status_event};
use sea_orm::{ActiveValue::NotSet, IntoActiveModel};

/// Who makes a change: the login written into the history, and the department it acted for
/// (`None`: the center — operators, routing rules, the system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `role:sub` of a caller, or the name of a gateway job.
    pub login: String,
    /// The body the actor acted for.
    pub department_id: Option<i32>,
}

impl Actor {
    /// An actor of the center itself.
    pub fn center(login: impl Into<String>) -> Self {
        Actor { login: login.into(), department_id: None }
    }
}

/// A status event row to insert.
pub(crate) fn status_line(
    complaint_id: i64,
    from: Option<ComplaintStatus>,
    to: ComplaintStatus,
    actor: &Actor,
    at: DateTime<Utc>,
) -> status_event::ActiveModel {
    status_event::ActiveModel {
        id: NotSet,
        ..status_event::Model {
            id: 0,
            complaint_id,
            from_status: from,
            to_status: to,
            actor: actor.login.clone(),
            actor_department_id: actor.department_id,
            comment: None,
            at,
        }
        .into_active_model()
    }
}
