//! The outbox of answers going back to complaints' sources. A change that answers the
//! citizen publicly, resolves or rejects a complaint registered by a connector whose source
//! takes answers writes one delivery in its own transaction (unique per change and target:
//! written once, whatever retries); a replica claims due deliveries for a while, sends them,
//! and records the outcome. A claim that runs out (its replica died) is claimed again.
use super::lifecycle::Plan;
use crate::{Result, domain::masking::mask};
use chrono::{DateTime, Utc};
use entity::{
    ComplaintStatus, complaint, complaint_origin,
    delivery::{self, Column as D},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};

/// Waiting to be sent (or sent again).
pub const PENDING: &str = "PENDING";
/// The source took it.
pub const DELIVERED: &str = "DELIVERED";
/// Given up: the source refused it, or it failed too many times.
pub const FAILED: &str = "FAILED";

/// What a change tells the source: the event and the words for the citizen.
fn answer(updated: &complaint::Model, plan: &Plan) -> Option<(&'static str, Option<String>)> {
    let public_text = plan.response.as_ref().filter(|r| r.public).map(|r| r.text.clone());
    match plan.status {
        Some(ComplaintStatus::Resolved) => Some(("RESOLVED", public_text.or(plan.comment.clone()))),
        Some(ComplaintStatus::Rejected) => Some(("REJECTED", plan.comment.clone())),
        _ if public_text.is_some() => Some(("RESPONDED", public_text)),
        _ => None,
    }
    .filter(|_| updated.id > 0)
}

/// Writes the delivery of a change to complaint `updated`, in the change's transaction, when
/// the change answers and the complaint came from a connector that takes answers.
pub async fn enqueue(
    tx: &impl ConnectionTrait,
    updated: &complaint::Model,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some((event, notes)) = answer(updated, plan) else { return Ok(()) };
    let Some(origin) = complaint_origin::Entity::find_by_id(updated.id).one(tx).await? else {
        return Ok(());
    };
    let closed = matches!(updated.status, ComplaintStatus::Resolved | ComplaintStatus::Rejected);
    // A source publishes what it gets (an Open311 server's status_notes are public): personal
    // data is masked as for the public here.
    let notes = notes.map(|n| mask(&n).into_owned());
    let body = serde_json::json!({
        "complaint": updated.number,
        "externalId": updated.external_id,
        "source": updated.source,
        "event": event,
        "status": updated.status,
        "open": !closed,
        "statusNotes": notes,
        "updatedAt": now.to_rfc3339(),
    });
    // The version names the change: one delivery per change and target.
    let key = format!("{}:{}:v{}:{event}", origin.connector, updated.id, updated.version);
    let insert = delivery::Entity::insert(delivery::ActiveModel {
        id: NotSet,
        complaint_id: Set(updated.id),
        target: Set(origin.connector),
        dedup_key: Set(key),
        body: Set(body.to_string()),
        state: Set(PENDING.to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        claimed_by: Set(None),
        claimed_until: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    })
    .on_conflict(OnConflict::column(D::DedupKey).do_nothing().to_owned())
    .into_query();
    tx.execute_raw(tx.get_database_backend().build(&insert)).await?;
    Ok(())
}

/// Records that the complaints `ids` were registered by `connector` (whose source takes
/// answers), in the registering transaction.
pub async fn record_origin(tx: &impl ConnectionTrait, connector: &str, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows = ids.iter().map(|id| complaint_origin::ActiveModel {
        complaint_id: Set(*id),
        connector: Set(connector.to_owned()),
    });
    complaint_origin::Entity::insert_many(rows).exec_without_returning(tx).await?;
    Ok(())
}

/// Claims up to `limit` due deliveries for `owner` until `until`: a delivery claimed by
/// another replica whose claim has not run out is not taken.
pub async fn claim(
    db: &super::Db,
    owner: &str,
    targets: &[String],
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<delivery::Model>> {
    let free = || Condition::any().add(D::ClaimedUntil.is_null()).add(D::ClaimedUntil.lt(now));
    let due: Vec<i64> = delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(D::State.eq(PENDING))
        .filter(D::NextAttemptAt.lte(now))
        .filter(D::Target.is_in(targets.iter().map(String::as_str)))
        .filter(free())
        .order_by_asc(D::Id)
        .limit(limit)
        .into_tuple()
        .all(db.write())
        .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    {
        // The condition is checked again on the row as it is now: of two replicas claiming
        // together, the second finds the first's claim and takes nothing.
        let _writer = db.writer_turn().await;
        delivery::Entity::update_many()
            .col_expr(D::ClaimedBy, Expr::value(owner))
            .col_expr(D::ClaimedUntil, Expr::value(until))
            .filter(D::Id.is_in(due.iter().copied()))
            .filter(D::State.eq(PENDING))
            .filter(D::NextAttemptAt.lte(now))
            .filter(free())
            .exec(db.write())
            .await?;
    }
    Ok(delivery::Entity::find()
        .filter(D::Id.is_in(due))
        .filter(D::ClaimedBy.eq(owner))
        .filter(D::ClaimedUntil.gt(now))
        .order_by_asc(D::Id)
        .all(db.write())
        .await?)
}

/// Extends `owner`'s claim of delivery `id` to `until` just before sending it; false when
/// the claim ran out and another replica may have it (then this one must not send).
pub async fn renew(
    db: &super::Db,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let _writer = db.writer_turn().await;
    let renewed = delivery::Entity::update_many()
        .col_expr(D::ClaimedUntil, Expr::value(until))
        .filter(D::Id.eq(id))
        .filter(D::State.eq(PENDING))
        .filter(D::ClaimedBy.eq(owner))
        .filter(D::ClaimedUntil.gt(now))
        .exec(db.write())
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The source took it.
    Delivered,
    /// It failed; tried again at the time given, or given up (`None`).
    Failed {
        /// Why.
        error: String,
        /// The next try, if there is one.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Records an attempt at delivery `id` by its claimant `owner`.
pub async fn record(
    db: &super::Db,
    id: i64,
    owner: &str,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut update = delivery::Entity::update_many()
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(D::Id.eq(id))
        .filter(D::ClaimedBy.eq(owner));
    update = match attempt {
        Attempt::Delivered => update
            .col_expr(D::State, Expr::value(DELIVERED))
            .col_expr(D::DeliveredAt, Expr::value(now)),
        Attempt::Failed { error, retry_at } => {
            let update = update.col_expr(D::LastError, Expr::value(error.as_str()));
            match retry_at {
                Some(at) => update.col_expr(D::NextAttemptAt, Expr::value(*at)),
                None => update.col_expr(D::State, Expr::value(FAILED)),
            }
        }
    };
    let _writer = db.writer_turn().await;
    update.exec(db.write()).await?;
    Ok(())
}
