//! The pull connectors for operators: `connectors` (state, last outcome, checkpoint, counts)
//! and `pauseConnector` / `resumeConnector` / `runConnectorNow`.
use super::{ctx_db, request};
use crate::connectors::Connectors;
use crate::error::GqlResult;
use crate::service::{
    self,
    connectors::{Condition, Request, Status},
};
use crate::store::connectors::Tally;
use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Where a connector stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ConnectorState", visible = "super::visibility::connectors")]
pub enum ConnectorState {
    /// Pulling on its interval.
    Running,
    /// Its last run failed; retried after a backoff.
    Failing,
    /// Paused by an operator.
    Paused,
}

/// Items a connector brought in a period.
pub struct ConnectorCounts(Tally);

#[Object(visible = "super::visibility::connectors")]
impl ConnectorCounts {
    /// Registered as new complaints.
    async fn created(&self) -> i32 {
        self.0.created
    }
    /// Delivered before (nothing written).
    async fn duplicates(&self) -> i32 {
        self.0.duplicates
    }
    /// Refused, each with a reason in the gateway's log.
    async fn rejected(&self) -> i32 {
        self.0.rejected
    }
}

/// A pull connector of the connectors file, as every replica sees it.
pub struct Connector(Status);

#[Object(visible = "super::visibility::connectors")]
impl Connector {
    /// Its name in the connectors file.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its kind: `open311`, `json_feed` or `csv_drop`.
    async fn kind(&self) -> &str {
        self.0.kind
    }
    /// Running, failing or paused.
    async fn state(&self) -> ConnectorState {
        match self.0.condition {
            Condition::Running => ConnectorState::Running,
            Condition::Failing => ConnectorState::Failing,
            Condition::Paused => ConnectorState::Paused,
        }
    }
    /// The replica pulling it now (null: none holds its lease).
    async fn holder(&self) -> Option<&str> {
        self.0.holder.as_deref()
    }
    /// When its last run ended.
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at
    }
    /// When its last successful run ended.
    async fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_success_at
    }
    /// Its last error (kept after a later success, with its time).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When its last error happened.
    async fn last_error_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_error_at
    }
    /// Failed runs in a row.
    async fn failures(&self) -> i32 {
        self.0.failures
    }
    /// When its next run is due.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    /// Where its next run starts, as stored (JSON).
    async fn checkpoint(&self) -> Option<&str> {
        self.0.checkpoint.as_deref()
    }
    /// Items of the last hour.
    async fn last_hour(&self) -> ConnectorCounts {
        ConnectorCounts(self.0.last_hour)
    }
    /// Items of the last 24 hours.
    async fn last_day(&self) -> ConnectorCounts {
        ConnectorCounts(self.0.last_day)
    }
}

fn configured<'a>(ctx: &Context<'a>) -> &'a Connectors {
    ctx.data_unchecked::<Arc<Connectors>>()
}

/// Root field `connectors`.
#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    /// Every configured pull connector, in file order.
    #[graphql(visible = "super::visibility::connectors")]
    async fn connectors(&self, ctx: &Context<'_>) -> Result<Vec<Connector>> {
        let req = request(ctx);
        let all = service::connectors::list(ctx_db(ctx), &req.principal, configured(ctx), req.now)
            .await
            .gql()?;
        Ok(all.into_iter().map(Connector).collect())
    }
}

/// Root fields steering the connectors.
#[derive(Default)]
pub struct ConnectorMutation;

impl ConnectorMutation {
    async fn steer(ctx: &Context<'_>, name: &str, what: Request) -> Result<Connector> {
        let notifier = ctx.data_unchecked::<service::Notifier>();
        let principal = &request(ctx).principal;
        let status = service::connectors::steer(
            ctx_db(ctx),
            notifier,
            principal,
            configured(ctx),
            name,
            what,
        )
        .await
        .gql()?;
        Ok(Connector(status))
    }
}

#[Object]
impl ConnectorMutation {
    /// Stops connector `name` pulling (on every replica) until it is resumed.
    #[graphql(visible = "super::visibility::control_connectors")]
    async fn pause_connector(&self, ctx: &Context<'_>, name: String) -> Result<Connector> {
        Self::steer(ctx, &name, Request::Pause).await
    }
    /// Lets connector `name` pull on its interval again.
    #[graphql(visible = "super::visibility::control_connectors")]
    async fn resume_connector(&self, ctx: &Context<'_>, name: String) -> Result<Connector> {
        Self::steer(ctx, &name, Request::Resume).await
    }
    /// Pulls connector `name` at once (a paused one waits until it is resumed).
    #[graphql(visible = "super::visibility::control_connectors")]
    async fn run_connector_now(&self, ctx: &Context<'_>, name: String) -> Result<Connector> {
        Self::steer(ctx, &name, Request::RunNow).await
    }
}
