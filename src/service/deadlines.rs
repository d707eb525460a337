//! The deadline watch's pass: breaches recorded by the store, then announced like any other
//! committed change (cached answers hold the history it extends; subscribers get OVERDUE).
use super::{Changed, Notifier, committed};
use crate::{
    Result,
    store::{Db, deadlines},
};
use chrono::{DateTime, Duration, Utc};

/// One pass at `now` over deadlines that passed within `lookback`.
pub async fn watch(
    db: &Db,
    notifier: &Notifier,
    now: DateTime<Utc>,
    lookback: Duration,
) -> Result<deadlines::Tick> {
    let tick = deadlines::tick(db, now, lookback).await?;
    if tick.reported > 0 {
        committed(notifier, Changed::Complaints).await;
    }
    Ok(tick)
}
