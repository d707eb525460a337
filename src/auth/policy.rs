//! The access policy: which complaint rows a principal may read. The store applies the scope
//! in SQL, so counts and pages never leak rows outside it.
use super::{Principal, Role};

/// The set of complaint rows a principal may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowScope {
    /// Every complaint.
    All,
    /// Complaints currently or ever assigned to the department.
    Department(i32),
    /// Complaints in the municipality.
    Municipality(i32),
    /// Only complaints flagged public.
    PublicOnly,
    /// No complaint at all (integration accounts only ingest).
    Nothing,
}

impl RowScope {
    /// The rows `principal` may read, from the roles matrix of DESIGN.md.
    pub fn of(principal: &Principal) -> Self {
        match (principal.role, principal.department_id, principal.municipality_id) {
            (Role::Governor | Role::Operator, _, _) => RowScope::All,
            (Role::Ministry, Some(dept), _) => RowScope::Department(dept),
            (Role::Municipality, _, Some(muni)) => RowScope::Municipality(muni),
            (Role::Public, _, _) => RowScope::PublicOnly,
            // A ministry/municipality without its id claim, or an integration: nothing.
            _ => RowScope::Nothing,
        }
    }
}
