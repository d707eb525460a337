//! Domain enums, stored as their SCREAMING_CASE names in text columns (same on Postgres and SQLite).
use sea_orm::entity::prelude::*;

/// Channel a complaint came through.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Source {
    #[sea_orm(string_value = "VK")]
    Vk,
    #[sea_orm(string_value = "TELEGRAM")]
    Telegram,
    #[sea_orm(string_value = "OK")]
    Ok,
    #[sea_orm(string_value = "GOSUSLUGI_POS")]
    GosuslugiPos,
    #[sea_orm(string_value = "HOTLINE_122")]
    Hotline122,
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "OPEN311")]
    Open311,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

/// Topic a complaint is classified into.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Category {
    #[sea_orm(string_value = "HEALTHCARE")]
    Healthcare,
    #[sea_orm(string_value = "SOCIAL_PROTECTION")]
    SocialProtection,
    #[sea_orm(string_value = "HOUSING_UTILITIES")]
    HousingUtilities,
    #[sea_orm(string_value = "TRANSPORT")]
    Transport,
    #[sea_orm(string_value = "ROADS")]
    Roads,
    #[sea_orm(string_value = "EDUCATION")]
    Education,
    #[sea_orm(string_value = "ECOLOGY")]
    Ecology,
    #[sea_orm(string_value = "SAFETY")]
    Safety,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

/// Lifecycle state of a complaint.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ComplaintStatus {
    #[sea_orm(string_value = "NEW")]
    New,
    #[sea_orm(string_value = "ASSIGNED")]
    Assigned,
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    #[sea_orm(string_value = "ANSWERED")]
    Answered,
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    #[sea_orm(string_value = "REOPENED")]
    Reopened,
}

impl ComplaintStatus {
    /// Closed complaints (RESOLVED, REJECTED) no longer count as open or overdue.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Rejected)
    }
}

/// Urgency of a complaint.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Priority {
    #[sea_orm(string_value = "LOW")]
    Low,
    #[sea_orm(string_value = "NORMAL")]
    Normal,
    #[sea_orm(string_value = "HIGH")]
    High,
    #[sea_orm(string_value = "CRITICAL")]
    Critical,
}
