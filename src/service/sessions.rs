//! Ending a subject's live sessions: every WebSocket of that token subject, on every replica,
//! closes (4403) so its client must come back with a fresh token.
use super::Notifier;
use crate::{
    Error, Result,
    auth::{
        Principal,
        policy::{self, Action},
    },
    events::Signal,
};

/// Revokes the sessions of `sub`, if `principal` may.
pub async fn revoke(notifier: &Notifier, principal: &Principal, sub: &str) -> Result<()> {
    if !policy::may(principal, Action::RevokeSessions) {
        let role = principal.role.as_str();
        return Err(Error::Forbidden(format!("role `{role}` may not revoke sessions")));
    }
    let sub = sub.trim();
    if sub.is_empty() || sub.len() > 256 {
        return Err(Error::bad_input("`sub` must be 1 to 256 bytes"));
    }
    notifier.bus.publish(Signal::Revoked { sub: sub.to_owned() }).await;
    Ok(())
}
