//! Request budgets per subject (the token's `sub`, else the client's address), one per role,
//! counted with GCRA: a budget of N requests a minute refills one request every 60/N s and
//! lets a subject spend at most N at once. Every replica counts in Redis (one atomic script
//! on Redis's clock), so the budget is the region's, not one replica's; without Redis, or
//! while it is down, each replica counts in memory — never unlimited, never refusing all.
//! Expensive operations cost more than one request (by the guard's estimate).
mod local;
mod shared;

use crate::auth::{Principal, Role};
use std::{
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

pub(crate) use shared::SharedLimiter;

/// Guard complexity that costs one more request (a page of 100 rows of 10 fields is 1,000).
const COMPLEXITY_PER_REQUEST: u64 = 2_000;
/// The most one operation costs.
const MAX_COST: u32 = 20;

/// Requests a minute per role; 0 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// The governor's office.
    pub governor: u32,
    /// The center's operators.
    pub operator: u32,
    /// Departments.
    pub ministry: u32,
    /// Municipalities.
    pub municipality: u32,
    /// Source systems.
    pub integration: u32,
    /// Anonymous callers, per client address.
    pub public: u32,
}

impl Budgets {
    /// The budget of `role`: requests a minute, or `None` when unlimited.
    pub fn of(&self, role: Role) -> Option<u32> {
        let per_minute = match role {
            Role::Governor => self.governor,
            Role::Operator => self.operator,
            Role::Ministry => self.ministry,
            Role::Municipality => self.municipality,
            Role::Integration => self.integration,
            Role::Public => self.public,
        };
        (per_minute > 0).then_some(per_minute)
    }

    /// No limits (tests and benchmarks that measure something else).
    pub fn unlimited() -> Self {
        Budgets {
            governor: 0,
            operator: 0,
            ministry: 0,
            municipality: 0,
            integration: 0,
            public: 0,
        }
    }
}

/// Whom a budget belongs to: a token's subject, or an anonymous client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Subject {
    role: Role,
    key: String,
}

impl Subject {
    /// The subject of a request by `principal` from `client`.
    pub(crate) fn of(principal: &Principal, client: Option<IpAddr>) -> Self {
        let key = if principal.is_authenticated() {
            format!("sub:{}", principal.sub)
        } else {
            match client.map(network) {
                Some(net) => format!("ip:{net}"),
                None => "ip:unknown".to_owned(),
            }
        };
        Subject { role: principal.role, key }
    }
}

/// The network an anonymous client's budget is counted for: its IPv4 address, or the /64 of
/// an IPv6 one (one site or subscriber gets a /64, and could otherwise take a budget per
/// address of it).
fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}/64", Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `d` in whole seconds, rounded up (a client told to wait 0 s would come back at once).
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// What a budget said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The role's budget (requests a minute).
    pub limit: u32,
    /// Requests left to spend now.
    pub remaining: u32,
    /// Until the budget is whole again.
    pub reset: Duration,
    /// Refused: when the request would fit.
    pub retry_after: Option<Duration>,
    /// The role the budget is of (the policy's name in the headers).
    pub role: Role,
}

impl Quota {
    /// Whether the request may run.
    pub fn allowed(&self) -> bool {
        self.retry_after.is_none()
    }
}

/// A budget's answer, and whether this replica counted it alone (Redis did not answer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Taken {
    pub(crate) quota: Quota,
    pub(crate) counted_locally: bool,
}

/// What an operation costs: one request, more for expensive ones.
pub(crate) fn cost(complexity: u64) -> u32 {
    let extra = complexity / COMPLEXITY_PER_REQUEST;
    (1 + extra).min(u64::from(MAX_COST)) as u32
}

/// Takes requests from the subjects' budgets.
pub(crate) struct Limiter {
    budgets: Budgets,
    local: local::LocalLimiter,
    shared: Option<SharedLimiter>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("budgets", &self.budgets).finish_non_exhaustive()
    }
}

impl Limiter {
    /// Budgets counted in Redis when `shared` is given, else in this process.
    pub(crate) fn new(budgets: Budgets, shared: Option<SharedLimiter>) -> Self {
        Limiter { budgets, local: local::LocalLimiter::new(budgets), shared }
    }

    /// Takes `cost` requests from `subject`'s budget: the quota, or `None` when its role is
    /// unlimited.
    pub(crate) async fn take(&self, subject: &Subject, cost: u32) -> Option<Taken> {
        let limit = self.budgets.of(subject.role)?;
        let cost = cost.clamp(1, limit);
        let Some(shared) = &self.shared else {
            return Some(Taken {
                quota: self.local.take(subject, limit, cost),
                counted_locally: false,
            });
        };
        match shared.take(subject, limit, cost).await {
            Ok(quota) => Some(Taken { quota, counted_locally: false }),
            Err(err) => {
                // Redis is down: this replica's own count stands in.
                tracing::debug!(%err, "shared rate limit unavailable; counting locally");
                Some(Taken { quota: self.local.take(subject, limit, cost), counted_locally: true })
            }
        }
    }

    /// Forgets in-memory subjects whose budgets are whole again (they cost memory only).
    pub(crate) fn forget_idle(&self) {
        self.local.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_operations_cost_one_and_expensive_ones_more_up_to_a_cap() {
        assert_eq!(cost(0), 1);
        assert_eq!(cost(1_999), 1);
        assert_eq!(cost(2_000), 2);
        assert_eq!(cost(10_000), 6);
        assert_eq!(cost(100_000_000), MAX_COST);
    }

    #[test]
    fn anonymous_callers_are_counted_by_address_and_others_by_subject() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(Subject::of(&Principal::public(), Some(ip)).key, "ip:10.1.2.3");
        let mut p = Principal::public();
        p.role = Role::Operator;
        p.sub = "op-7".into();
        assert_eq!(Subject::of(&p, Some(ip)).key, "sub:op-7");
    }

    #[test]
    fn an_ipv6_network_of_64_bits_shares_one_budget() {
        let key = |ip: &str| Subject::of(&Principal::public(), Some(ip.parse().unwrap())).key;
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:10.1.2.3"), "ip:10.1.2.3", "IPv4 mapped into IPv6 is IPv4");
    }
}
