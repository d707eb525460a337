//! The access policy: the roles matrix (README, "Roles and tokens") as data ([`MATRIX`]), and the
//! functions every read goes through. Row scopes become SQL in the store. Which matrix column
//! decides each GraphQL field is the field registry's (`graphql/fields/`), enforced at
//! validation (a `Deny` field is rejected and hidden from introspection) and per row here.
use super::{Principal, Role};
use crate::Error;

/// Which complaint rows a role reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every complaint.
    All,
    /// Complaints currently or ever assigned to the caller's department.
    OwnDepartment,
    /// Complaints in the caller's municipality.
    OwnMunicipality,
    /// Complaints flagged public.
    PublicOnly,
    /// None.
    Nothing,
}

/// How a role may see one kind of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Always.
    Allow,
    /// Never: absent from the role's introspection and rejected at validation.
    Deny,
    /// With personal data (phones, e-mails, profile links) masked.
    Masked,
    /// Only what belongs to the caller's department.
    OwnDepartment,
    /// Only while the complaint is currently assigned to the caller's department.
    WhileAssigned,
    /// Only what belongs to the caller's municipality (its administration).
    OwnMunicipality,
}

/// Which KPI groups a role receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiGroups {
    /// Every group.
    All,
    /// The caller's department's row and the region total.
    OwnDepartmentAndRegion,
    /// The caller's municipality's row and the region total.
    OwnMunicipalityAndRegion,
    /// Only region totals.
    RegionOnly,
    /// None.
    Nothing,
}

/// A change a role may make (enforced by the mutations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Ingest complaints.
    Ingest,
    /// Set a complaint's category.
    Classify,
    /// Route a complaint to a department.
    Assign,
    /// Reject a complaint with a reason.
    Reject,
    /// Escalate a complaint to the center.
    Escalate,
    /// Answer a complaint or add an internal note.
    Respond,
    /// Move a complaint through the lifecycle (in progress, answered).
    Progress,
    /// Resolve a complaint.
    Resolve,
    /// Hand one of the caller's complaints to another department.
    Reassign,
    /// Edit routing rules.
    EditRouting,
    /// Reopen an answered or resolved complaint (the citizen is not satisfied; the center
    /// takes that feedback, so it sits with the operators).
    Reopen,
    /// End every live session (WebSocket) of a token subject.
    RevokeSessions,
    /// Pause, resume or run now a pull connector.
    ControlConnectors,
}

/// Which complaints in its scope a role's changes may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActsOn {
    /// Any it reads.
    Scope,
    /// Only those currently assigned to the caller's department.
    CurrentlyAssigned,
}

/// The body a role's changes are recorded for (officials' logins are shown by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActsFor {
    /// The center (ЦУР).
    Center,
    /// The caller's department.
    OwnDepartment,
    /// The administration of the caller's municipality.
    OwnAdministration,
}

/// One row of the roles matrix.
#[derive(Debug)]
pub struct RolePolicy {
    /// The role.
    pub role: Role,
    /// The id claim a token of this role must carry.
    pub requires: Option<&'static str>,
    /// Complaint rows.
    pub rows: Rows,
    /// Complaint texts, addresses, comments and answers.
    pub texts: Access,
    /// The complaint's author (personal data).
    pub author: Access,
    /// Internal notes among the responses.
    pub internal_notes: Access,
    /// Staff phone and e-mail.
    pub staff_contacts: Access,
    /// The complaint's id in its source system (it can point at the author's page).
    pub external_ids: Access,
    /// The audit trail of personal-data reads.
    pub audit_log: Access,
    /// The routing rules (internal configuration of the center).
    pub routing_rules: Access,
    /// The pull connectors' state (the center's own plumbing: sources, errors, checkpoints).
    pub connectors: Access,
    /// Officials' logins in history, assignments and answers; `Masked` shows the acting body.
    pub officials: Access,
    /// KPI groups.
    pub kpis: KpiGroups,
    /// Mutations.
    pub actions: &'static [Action],
    /// Which rows those mutations may touch.
    pub acts_on: ActsOn,
    /// Whom the changes are recorded for.
    pub acts_for: ActsFor,
}

use Access::{Allow, Deny, Masked, OwnDepartment, OwnMunicipality, WhileAssigned};

/// The roles matrix, one row per role (the README shows it as a table).
pub static MATRIX: [RolePolicy; 6] = [
    RolePolicy {
        role: Role::Governor,
        requires: None,
        rows: Rows::All,
        texts: Allow,
        author: Deny,
        internal_notes: Allow,
        staff_contacts: Allow,
        external_ids: Allow,
        audit_log: Deny,
        routing_rules: Allow,
        connectors: Deny,
        officials: Allow,
        kpis: KpiGroups::All,
        actions: &[Action::Escalate],
        acts_on: ActsOn::Scope,
        acts_for: ActsFor::Center,
    },
    RolePolicy {
        role: Role::Operator,
        requires: None,
        rows: Rows::All,
        texts: Allow,
        author: Allow,
        internal_notes: Allow,
        staff_contacts: Allow,
        external_ids: Allow,
        audit_log: Allow,
        routing_rules: Allow,
        connectors: Allow,
        officials: Allow,
        kpis: KpiGroups::All,
        actions: &[
            Action::Ingest,
            Action::Classify,
            Action::Assign,
            Action::Reject,
            Action::Escalate,
            Action::EditRouting,
            Action::Reopen,
            Action::RevokeSessions,
            Action::ControlConnectors,
        ],
        acts_on: ActsOn::Scope,
        acts_for: ActsFor::Center,
    },
    RolePolicy {
        role: Role::Ministry,
        requires: Some("department_id"),
        rows: Rows::OwnDepartment,
        texts: Allow,
        author: WhileAssigned,
        internal_notes: OwnDepartment,
        staff_contacts: OwnDepartment,
        external_ids: Allow,
        audit_log: Deny,
        routing_rules: Allow,
        connectors: Deny,
        officials: OwnDepartment,
        kpis: KpiGroups::OwnDepartmentAndRegion,
        actions: &[Action::Respond, Action::Progress, Action::Resolve, Action::Reassign],
        acts_on: ActsOn::CurrentlyAssigned,
        acts_for: ActsFor::OwnDepartment,
    },
    RolePolicy {
        role: Role::Municipality,
        requires: Some("municipality_id"),
        rows: Rows::OwnMunicipality,
        texts: Allow,
        author: Deny,
        internal_notes: Deny,
        staff_contacts: Deny,
        external_ids: Allow,
        audit_log: Deny,
        routing_rules: Allow,
        connectors: Deny,
        officials: OwnMunicipality,
        kpis: KpiGroups::OwnMunicipalityAndRegion,
        actions: &[Action::Respond],
        acts_on: ActsOn::Scope,
        acts_for: ActsFor::OwnAdministration,
    },
    RolePolicy {
        role: Role::Integration,
        requires: None,
        rows: Rows::Nothing,
        texts: Allow,
        author: Deny,
        internal_notes: Deny,
        staff_contacts: Deny,
        external_ids: Allow,
        audit_log: Deny,
        routing_rules: Deny,
        connectors: Deny,
        officials: Masked,
        kpis: KpiGroups::Nothing,
        actions: &[Action::Ingest],
        acts_on: ActsOn::Scope,
        acts_for: ActsFor::Center,
    },
    RolePolicy {
        role: Role::Public,
        requires: None,
        rows: Rows::PublicOnly,
        texts: Masked,
        author: Deny,
        internal_notes: Deny,
        staff_contacts: Deny,
        external_ids: Deny,
        audit_log: Deny,
        routing_rules: Deny,
        connectors: Deny,
        officials: Masked,
        kpis: KpiGroups::RegionOnly,
        actions: &[],
        acts_on: ActsOn::Scope,
        acts_for: ActsFor::Center,
    },
];

/// The matrix row of `role`.
pub fn policy_of(role: Role) -> &'static RolePolicy {
    MATRIX.iter().find(|p| p.role == role).unwrap_or(&MATRIX[MATRIX.len() - 1])
}

/// The set of complaint rows a principal may read, applied in SQL by the store.
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
    /// No complaint at all.
    Nothing,
}

impl RowScope {
    /// A stable text of the scope, for cache keys.
    pub fn key(self) -> String {
        match self {
            RowScope::All => "all".into(),
            RowScope::Department(d) => format!("department:{d}"),
            RowScope::Municipality(m) => format!("municipality:{m}"),
            RowScope::PublicOnly => "public".into(),
            RowScope::Nothing => "nothing".into(),
        }
    }

    /// The rows `principal` may read.
    pub fn of(principal: &Principal) -> Self {
        match (policy_of(principal.role).rows, principal.department_id, principal.municipality_id) {
            (Rows::All, _, _) => RowScope::All,
            (Rows::OwnDepartment, Some(dept), _) => RowScope::Department(dept),
            (Rows::OwnMunicipality, _, Some(muni)) => RowScope::Municipality(muni),
            (Rows::PublicOnly, _, _) => RowScope::PublicOnly,
            // An id claim missing (tokens are checked, so only by mistake): nothing.
            _ => RowScope::Nothing,
        }
    }
}

/// Which responses of a readable complaint a principal sees (applied in SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteScope {
    /// Public answers and every internal note.
    All,
    /// Public answers and the department's own notes.
    PublicAndDepartment(i32),
    /// Public answers only.
    PublicOnly,
}

impl NoteScope {
    /// The responses `principal` may read.
    pub fn of(principal: &Principal) -> Self {
        match (policy_of(principal.role).internal_notes, principal.department_id) {
            (Allow, _) => NoteScope::All,
            (OwnDepartment, Some(dept)) => NoteScope::PublicAndDepartment(dept),
            _ => NoteScope::PublicOnly,
        }
    }
}

/// The id claim `principal`'s role requires but lacks, if any.
pub fn check_required_claims(principal: &Principal) -> Result<(), &'static str> {
    match policy_of(principal.role).requires {
        Some(claim @ "department_id") if principal.department_id.is_none() => Err(claim),
        Some(claim @ "municipality_id") if principal.municipality_id.is_none() => Err(claim),
        _ => Ok(()),
    }
}

/// Whether texts shown to `principal` must have personal data masked.
pub fn masks_texts(principal: &Principal) -> bool {
    policy_of(principal.role).texts == Masked
}

/// Whether `principal` may search complaint texts (searching unmasked text would reveal what
/// masking hides).
pub fn check_search(principal: &Principal) -> Result<(), Error> {
    if masks_texts(principal) {
        return Err(Error::Forbidden(format!(
            "text search is not available to role `{}`",
            principal.role.as_str()
        )));
    }
    Ok(())
}

fn forbidden_field(principal: &Principal, what: &str) -> Error {
    Error::Forbidden(format!("role `{}` may not read {what}", principal.role.as_str()))
}

/// Whether `principal` may read the author of a complaint currently assigned to
/// `current_department`.
pub fn check_author(principal: &Principal, current_department: Option<i32>) -> Result<(), Error> {
    match policy_of(principal.role).author {
        Allow => Ok(()),
        WhileAssigned
            if principal.department_id.is_some()
                && principal.department_id == current_department =>
        {
            Ok(())
        }
        WhileAssigned => Err(Error::Forbidden(
            "the author is visible only while the complaint is assigned to your department".into(),
        )),
        _ => Err(forbidden_field(principal, "authors")),
    }
}

/// Whether `principal` may read the contacts of a staff member of `staff_department`.
pub fn check_staff_contacts(principal: &Principal, staff_department: i32) -> Result<(), Error> {
    match policy_of(principal.role).staff_contacts {
        Allow => Ok(()),
        OwnDepartment if principal.department_id == Some(staff_department) => Ok(()),
        OwnDepartment => Err(Error::Forbidden(
            "contacts are visible only for staff of your own department".into(),
        )),
        _ => Err(forbidden_field(principal, "staff contacts")),
    }
}

/// Whether `principal` may read the login of an official who acted for `department` (`None`:
/// the center), a department of the territory `department_municipality` (municipal bodies).
pub fn shows_official(
    principal: &Principal,
    department: Option<i32>,
    department_municipality: Option<i32>,
) -> bool {
    match policy_of(principal.role).officials {
        Allow => true,
        OwnDepartment => department.is_some() && department == principal.department_id,
        OwnMunicipality => {
            department_municipality.is_some()
                && department_municipality == principal.municipality_id
        }
        _ => false,
    }
}

/// Whether `principal` may read the audit trail.
pub fn check_audit_log(principal: &Principal) -> Result<(), Error> {
    match policy_of(principal.role).audit_log {
        Allow => Ok(()),
        _ => Err(forbidden_field(principal, "the audit log")),
    }
}

/// Whether `principal` may ask for KPIs of this department and municipality: a ministry only
/// its own department's, a municipality only its own territory's, a role without KPIs none.
pub fn check_kpi_filter(
    principal: &Principal,
    department: Option<i32>,
    municipality: Option<i32>,
) -> Result<(), Error> {
    match KpiScope::of(principal) {
        KpiScope::Department(d) if department.is_some_and(|x| x != d) => {
            Err(Error::Forbidden("a ministry sees its own department's KPIs".into()))
        }
        KpiScope::Municipality(m) if municipality.is_some_and(|x| x != m) => {
            Err(Error::Forbidden("a municipality sees its own territory's KPIs".into()))
        }
        KpiScope::Nothing => Err(Error::Forbidden("this role has no KPIs".into())),
        _ => Ok(()),
    }
}

/// Whether `principal` may change a complaint currently assigned to `current_department`.
pub fn check_acts_on(principal: &Principal, current_department: Option<i32>) -> Result<(), Error> {
    match policy_of(principal.role).acts_on {
        ActsOn::CurrentlyAssigned if current_department != principal.department_id => Err(
            Error::Forbidden("the complaint is not currently assigned to your department".into()),
        ),
        _ => Ok(()),
    }
}

/// Whom `principal`'s changes are recorded for.
pub fn acts_for(principal: &Principal) -> ActsFor {
    policy_of(principal.role).acts_for
}

/// Whether `principal` may make changes of kind `action`.
pub fn may(principal: &Principal, action: Action) -> bool {
    policy_of(principal.role).actions.contains(&action)
}

/// The KPI rows `principal` receives, as groups to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiScope {
    /// Every group.
    All,
    /// This department's row and the region total.
    Department(i32),
    /// This municipality's row and the region total.
    Municipality(i32),
    /// Only the region total.
    RegionTotal,
    /// No KPIs.
    Nothing,
}

impl KpiScope {
    /// The KPI groups of `principal`.
    pub fn of(principal: &Principal) -> Self {
        match (policy_of(principal.role).kpis, principal.department_id, principal.municipality_id) {
            (KpiGroups::All, _, _) => KpiScope::All,
            (KpiGroups::OwnDepartmentAndRegion, Some(d), _) => KpiScope::Department(d),
            (KpiGroups::OwnMunicipalityAndRegion, _, Some(m)) => KpiScope::Municipality(m),
            (KpiGroups::RegionOnly, _, _) => KpiScope::RegionTotal,
            _ => KpiScope::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal { sub: "t".into(), role, department_id: Some(3), municipality_id: Some(5) }
    }

    #[test]
    fn every_role_has_exactly_one_matrix_row() {
        for role in Role::ALL {
            assert_eq!(MATRIX.iter().filter(|p| p.role == role).count(), 1, "{role:?}");
        }
    }

    #[test]
    fn row_scopes_follow_the_matrix() {
        let scopes: Vec<_> = Role::ALL.map(|r| RowScope::of(&principal(r))).into();
        assert_eq!(
            scopes,
            [
                RowScope::All,
                RowScope::All,
                RowScope::Department(3),
                RowScope::Municipality(5),
                RowScope::Nothing,
                RowScope::PublicOnly
            ]
        );
        let no_claim = Principal { department_id: None, ..principal(Role::Ministry) };
        assert_eq!(RowScope::of(&no_claim), RowScope::Nothing);
    }

    #[test]
    fn kpi_groups_follow_the_matrix() {
        let scopes: Vec<_> = Role::ALL.map(|r| KpiScope::of(&principal(r))).into();
        assert_eq!(
            scopes,
            [
                KpiScope::All,
                KpiScope::All,
                KpiScope::Department(3),
                KpiScope::Municipality(5),
                KpiScope::Nothing,
                KpiScope::RegionTotal
            ]
        );
    }

    #[test]
    fn notes_and_masking_follow_the_matrix() {
        let notes: Vec<_> = Role::ALL.map(|r| NoteScope::of(&principal(r))).into();
        assert_eq!(
            notes,
            [
                NoteScope::All,
                NoteScope::All,
                NoteScope::PublicAndDepartment(3),
                NoteScope::PublicOnly,
                NoteScope::PublicOnly,
                NoteScope::PublicOnly
            ]
        );
        assert!(masks_texts(&principal(Role::Public)));
        assert!(!masks_texts(&principal(Role::Ministry)));
    }

    #[test]
    fn row_dependent_rules() {
        let ministry = principal(Role::Ministry);
        assert!(check_author(&ministry, Some(3)).is_ok());
        assert!(check_author(&ministry, Some(4)).is_err());
        assert!(check_author(&ministry, None).is_err());
        assert!(check_author(&principal(Role::Operator), None).is_ok());
        assert!(check_author(&principal(Role::Governor), Some(3)).is_err());
        assert!(check_staff_contacts(&ministry, 3).is_ok());
        assert!(check_staff_contacts(&ministry, 4).is_err());
        assert!(check_staff_contacts(&principal(Role::Governor), 4).is_ok());
    }

    #[test]
    fn actions_follow_the_matrix() {
        let can = |r: Role, a: Action| may(&principal(r), a);
        assert!(can(Role::Operator, Action::Assign));
        assert!(can(Role::Governor, Action::Escalate) && !can(Role::Governor, Action::Assign));
        assert!(can(Role::Ministry, Action::Respond) && !can(Role::Ministry, Action::Ingest));
        assert!(can(Role::Municipality, Action::Respond));
        assert!(can(Role::Integration, Action::Ingest) && !can(Role::Integration, Action::Respond));
        assert!(policy_of(Role::Public).actions.is_empty());
    }

    #[test]
    fn required_claims() {
        let bare =
            |role| Principal { sub: "t".into(), role, department_id: None, municipality_id: None };
        assert_eq!(check_required_claims(&bare(Role::Ministry)), Err("department_id"));
        assert_eq!(check_required_claims(&bare(Role::Municipality)), Err("municipality_id"));
        assert_eq!(check_required_claims(&bare(Role::Governor)), Ok(()));
    }
}
