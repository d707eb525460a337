//! Live subscriptions on this replica: the hub that reads the outbox after every commit
//! signal (and on a poll, so a lost signal or a Redis outage delays but loses nothing), and
//! hands each event to the groups of subscribers it concerns.
//!
//! A group is every subscription that would get the same answer: same role, department and
//! municipality (all the policy looks at), same document, operation and variables. The
//! group's document runs once per event (or KPI tick) and the serialized answer goes to every
//! member; each member's author reads are audited under its own subject.
//!
//! Slow consumers: a member's queue holds [`Settings::queue`] complaint events; a member
//! whose queue is full is dropped and its socket closed with 1013 (try again later), so the
//! client resumes from its last cursor and loses nothing. KPI updates keep only the latest
//! row set per group.
mod hub;

pub(crate) use hub::{Hub, Item, MemberStream, Membership, SessionGuard};

use std::time::Duration;

/// Limits and intervals of live subscriptions.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Complaint events queued per subscription before it is dropped as too slow.
    pub queue: usize,
    /// KPI row sets are recomputed at most this often, and only after complaints changed.
    pub kpi_interval: Duration,
    /// The outbox is read at least this often even without a signal.
    pub poll: Duration,
    /// Outbox events older than this are deleted.
    pub retention: Duration,
    /// Open WebSockets per instance.
    pub max_connections: usize,
    /// Subscriptions per WebSocket.
    pub max_per_connection: usize,
    /// Subscriptions per token subject on this instance.
    pub max_per_subject: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            queue: 256,
            kpi_interval: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            max_connections: 10_000,
            max_per_connection: 32,
            max_per_subject: 256,
        }
    }
}
