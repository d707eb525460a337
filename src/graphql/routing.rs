//! Routing rules: `routingRules` for the staff roles, `setRoutingRule` / `deleteRoutingRule`
//! for operators (the service checks). Ingestion applies them to the next complaint.
use super::directory::{Department, Municipality, department_by_id, municipality_by_id};
use super::enums::Category;
use super::{ctx_db, parse_id, request, snapshot};
use crate::error::GqlResult;
use crate::{service, store};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::routing_rule;

/// Complaints of a category in a municipality (or anywhere) go to a department.
pub struct RoutingRule(routing_rule::Model);

#[Object]
impl RoutingRule {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Category it applies to.
    async fn category(&self) -> Category {
        self.0.category.into()
    }
    /// Municipality it applies to; null: the whole region (a municipality's rule wins).
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        municipality_by_id(ctx, self.0.municipality_id).await
    }
    /// The responsible department.
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        department_by_id(ctx, Some(self.0.department_id)).await
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Root field `routingRules`.
#[derive(Default)]
pub struct RoutingQuery;

#[Object]
impl RoutingQuery {
    /// The routing rules, region-wide first.
    #[graphql(visible = "super::visibility::routing_rules")]
    async fn routing_rules(&self, ctx: &Context<'_>) -> Result<Vec<RoutingRule>> {
        Ok(store::routing::list(ctx_db(ctx).read())
            .await
            .gql()?
            .into_iter()
            .map(RoutingRule)
            .collect())
    }
}

/// Root fields editing the routing rules.
#[derive(Default)]
pub struct RoutingMutation;

#[Object]
impl RoutingMutation {
    /// Routes `category` in `municipalityId` (omitted: region-wide) to `departmentId`,
    /// replacing the rule for that pair if there is one.
    #[graphql(visible = "super::visibility::edit_routing")]
    async fn set_routing_rule(
        &self,
        ctx: &Context<'_>,
        category: Category,
        municipality_id: Option<ID>,
        department_id: ID,
    ) -> Result<RoutingRule> {
        let req = request(ctx);
        let department = parse_id::<i32>(&department_id, "departmentId").gql()?;
        let municipality =
            municipality_id.map(|m| parse_id::<i32>(&m, "municipalityId")).transpose().gql()?;
        let directory = snapshot(ctx).await?;
        let notifier = ctx.data_unchecked::<service::Notifier>();
        let rule = service::routing::set(
            ctx_db(ctx),
            notifier,
            &req.principal,
            &directory,
            category.into(),
            municipality,
            department,
            req.now,
        )
        .await
        .gql()?;
        Ok(RoutingRule(rule))
    }

    /// Deletes a routing rule; complaints it covered fall back to the region-wide rule.
    #[graphql(visible = "super::visibility::edit_routing")]
    async fn delete_routing_rule(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id::<i32>(&id, "id").gql()?;
        let notifier = ctx.data_unchecked::<service::Notifier>();
        service::routing::delete(ctx_db(ctx), notifier, &request(ctx).principal, id).await.gql()?;
        Ok(true)
    }
}
