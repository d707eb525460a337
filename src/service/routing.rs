//! Routing rules: set and delete, by those the roles matrix lets edit them.
use super::{Changed, Notifier, committed};
use crate::{
    Error, Result,
    auth::{
        Principal,
        policy::{self, Action},
    },
    store::{self, Db, directory::Snapshot},
};
use chrono::{DateTime, Utc};
use entity::{Category, routing_rule};

fn require_editor(principal: &Principal) -> Result<()> {
    if policy::may(principal, Action::EditRouting) {
        return Ok(());
    }
    Err(Error::Forbidden(format!("role `{}` may not edit routing rules", principal.role.as_str())))
}

/// Routes `category` in `municipality` (None: region-wide) to `department`, replacing the
/// rule for that pair if there is one.
#[allow(clippy::too_many_arguments)] // who, what, and the gateway's parts
pub async fn set(
    db: &Db,
    notifier: &Notifier,
    principal: &Principal,
    directory: &Snapshot,
    category: Category,
    municipality: Option<i32>,
    department: i32,
    now: DateTime<Utc>,
) -> Result<routing_rule::Model> {
    require_editor(principal)?;
    if directory.department(department).is_none() {
        return Err(Error::bad_input(format!("unknown department {department}")));
    }
    if let Some(m) = municipality
        && directory.municipality(m).is_none()
    {
        return Err(Error::bad_input(format!("unknown municipality {m}")));
    }
    let rule = store::routing::set(db.write(), category, municipality, department, now).await?;
    committed(notifier, Changed::Routing).await;
    Ok(rule)
}

/// Deletes rule `id`; complaints it covered fall back to the region-wide rule.
pub async fn delete(db: &Db, notifier: &Notifier, principal: &Principal, id: i32) -> Result<()> {
    require_editor(principal)?;
    store::routing::delete(db.write(), id).await?;
    committed(notifier, Changed::Routing).await;
    Ok(())
}
