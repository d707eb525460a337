//! The authenticated caller, built from token claims.

/// A role of the roles matrix (JWT claim `role`; `public` means no token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Role {
    /// The governor's office: everything, never personal data.
    Governor,
    /// The center's operators: everything, including authors.
    Operator,
    /// A regional department (claim `department_id`).
    Ministry,
    /// A municipal administration (claim `municipality_id`).
    Municipality,
    /// A source system that may only ingest.
    Integration,
    /// No token (never minted).
    #[value(skip)]
    Public,
}

impl Role {
    /// The claim value of this role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Governor => "governor",
            Role::Operator => "operator",
            Role::Ministry => "ministry",
            Role::Municipality => "municipality",
            Role::Integration => "integration",
            Role::Public => "public",
        }
    }

    /// The role a token's `role` claim names; `public` is not a token role (it means no token).
    pub fn from_claim(claim: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| *r != Role::Public && r.as_str() == claim)
    }

    /// Every role, in the order of the roles matrix.
    pub const ALL: [Role; 6] = [
        Role::Governor,
        Role::Operator,
        Role::Ministry,
        Role::Municipality,
        Role::Integration,
        Role::Public,
    ];
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Subject (user or service account id).
    pub sub: String,
    /// Role from the matrix.
    pub role: Role,
    /// Department of a ministry principal.
    pub department_id: Option<i32>,
    /// Municipality of a municipality principal.
    pub municipality_id: Option<i32>,
}

impl Principal {
    /// A caller without a token.
    pub fn public() -> Self {
        Principal {
            sub: "anonymous".into(),
            role: Role::Public,
            department_id: None,
            municipality_id: None,
        }
    }

    /// How the caller is written into a complaint's history: `role:sub`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.sub)
    }

    /// Whether the caller presented a valid token.
    pub fn is_authenticated(&self) -> bool {
        self.role != Role::Public
    }
}
