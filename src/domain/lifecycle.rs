//! The complaint lifecycle (README, "Ingestion, routing and the lifecycle") as a transition table:
//! `NEW -> ASSIGNED -> IN_PROGRESS -> ANSWERED -> RESOLVED`, `REJECTED` from any open state,
//! `REOPENED` (citizen not satisfied) back to work, reassignment and escalation at any open state.
use entity::ComplaintStatus::{self, *};

/// Whether the lifecycle allows `from -> to`. Reassignment and escalation are
/// `open -> ASSIGNED` (also from ASSIGNED itself).
pub fn allows(from: ComplaintStatus, to: ComplaintStatus) -> bool {
    match (from, to) {
        // Routing (first, again, or to the center) at any open state.
        (New | Assigned | InProgress | Answered | Reopened, Assigned) => true,
        (Assigned | Reopened, InProgress) => true,
        (InProgress, Answered) => true,
        (Answered, Resolved) => true,
        // The citizen is not satisfied with the answer or the resolution.
        (Answered | Resolved, Reopened) => true,
        (New | Assigned | InProgress | Reopened, Rejected) => true,
        _ => false,
    }
}

/// Open: not finished (RESOLVED or REJECTED).
pub fn is_open(status: ComplaintStatus) -> bool {
    !matches!(status, Resolved | Rejected)
}

/// The error text of a refused transition.
pub fn refusal(from: ComplaintStatus, to: ComplaintStatus) -> String {
    let allowed: Vec<&str> = ALL.iter().filter(|s| allows(from, **s)).map(|s| name(*s)).collect();
    if allowed.is_empty() {
        format!("a {} complaint cannot change state (it is final)", name(from))
    } else {
        format!("cannot go from {} to {}; allowed: {}", name(from), name(to), allowed.join(", "))
    }
}

/// Every state.
pub const ALL: [ComplaintStatus; 7] =
    [New, Assigned, InProgress, Answered, Resolved, Rejected, Reopened];

/// The GraphQL name of a state.
pub fn name(status: ComplaintStatus) -> &'static str {
    match status {
        New => "NEW",
        Assigned => "ASSIGNED",
        InProgress => "IN_PROGRESS",
        Answered => "ANSWERED",
        Resolved => "RESOLVED",
        Rejected => "REJECTED",
        Reopened => "REOPENED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_complaints_only_reopen() {
        for to in ALL {
            assert!(!allows(Rejected, to), "REJECTED is final");
            assert_eq!(allows(Resolved, to), to == Reopened);
            assert!(!allows(New, New) && !allows(to, New), "nothing returns to NEW");
        }
        assert!(refusal(Rejected, Assigned).contains("final"));
        assert!(refusal(New, Resolved).contains("allowed: ASSIGNED, REJECTED"));
    }
}
