//! GraphQL enums, mirrored from the entity enums (`remote`) so the two cannot drift.
use async_graphql::Enum;

/// Channel a complaint came through.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::Source")]
pub enum Source {
    /// VKontakte.
    Vk,
    /// Telegram.
    Telegram,
    /// Odnoklassniki.
    Ok,
    /// The Gosuslugi feedback platform (ПОС).
    GosuslugiPos,
    /// The 122 hotline.
    #[graphql(name = "HOTLINE_122")]
    Hotline122,
    /// E-mail.
    Email,
    /// Another system speaking Open311 GeoReport v2.
    #[graphql(name = "OPEN311")]
    Open311,
    /// Anything else.
    Other,
}

/// Topic of a complaint.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::Category")]
pub enum Category {
    /// Healthcare.
    Healthcare,
    /// Social protection.
    SocialProtection,
    /// Housing and utilities.
    HousingUtilities,
    /// Public transport.
    Transport,
    /// Roads.
    Roads,
    /// Education.
    Education,
    /// Ecology.
    Ecology,
    /// Public safety.
    Safety,
    /// Anything else.
    Other,
}

/// Lifecycle state of a complaint.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::ComplaintStatus")]
pub enum ComplaintStatus {
    /// Registered, not routed yet.
    New,
    /// Routed to a department.
    Assigned,
    /// The department works on it.
    InProgress,
    /// A public answer was given.
    Answered,
    /// Closed as solved.
    Resolved,
    /// Closed as spam, duplicate or out of scope.
    Rejected,
    /// The citizen was not satisfied; back in work.
    Reopened,
}

/// Urgency of a complaint.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::Priority")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Critical (threat to life or health).
    Critical,
}

/// Column a complaint list is ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ComplaintOrderField {
    /// When the complaint was received.
    ReceivedAt,
    /// The resolution deadline.
    ResolutionDueAt,
    /// Registration order (the number follows it).
    Number,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}
