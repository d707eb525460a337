//! Budgets counted in this process (governor's keyed GCRA), one limiter per role.
use super::{Budgets, Quota, Subject};
use crate::auth::Role;
use governor::{
    Quota as Rate, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};
use std::{num::NonZeroU32, time::Duration};

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// One keyed limiter per limited role.
pub(super) struct LocalLimiter {
    by_role: Vec<(Role, u32, Keyed)>,
}

impl LocalLimiter {
    pub(super) fn new(budgets: Budgets) -> Self {
        let by_role = Role::ALL
            .into_iter()
            .filter_map(|role| {
                let limit = budgets.of(role)?;
                let burst = NonZeroU32::new(limit)?;
                // `limit` a minute, all of it at once at most.
                let rate = Rate::per_minute(burst).allow_burst(burst);
                Some((role, limit, RateLimiter::keyed(rate).with_middleware()))
            })
            .collect();
        LocalLimiter { by_role }
    }

    /// Takes `cost` (1..=limit) from `subject`'s budget of `limit` a minute.
    pub(super) fn take(&self, subject: &Subject, limit: u32, cost: u32) -> Quota {
        let interval = Duration::from_secs(60) / limit.max(1);
        let Some((_, _, limiter)) =
            self.by_role.iter().find(|(r, l, _)| *r == subject.role && *l == limit)
        else {
            // Budgets are fixed at start; a role without a limiter here is unlimited.
            return Quota {
                limit,
                remaining: limit,
                reset: Duration::ZERO,
                retry_after: None,
                role: subject.role,
            };
        };
        let n = NonZeroU32::new(cost.max(1)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(&subject.key, n) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity();
                Quota {
                    limit,
                    remaining,
                    reset: interval * (limit - remaining.min(limit)),
                    retry_after: None,
                    role: subject.role,
                }
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                Quota {
                    limit,
                    remaining: 0,
                    reset: wait + interval * (limit.saturating_sub(cost)),
                    retry_after: Some(wait),
                    role: subject.role,
                }
            }
            // Cost is capped at the limit, so it always fits an empty bucket.
            Err(_) => Quota {
                limit,
                remaining: 0,
                reset: Duration::from_secs(60),
                retry_after: Some(Duration::from_secs(60)),
                role: subject.role,
            },
        }
    }

    /// Drops subjects whose buckets are full again.
    pub(super) fn forget_idle(&self) {
        for (_, _, limiter) in &self.by_role {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
