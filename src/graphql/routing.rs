//! Routing rules: `routingRules` for everyone, `setRoutingRule` / `deleteRoutingRule` for
//! operators. Ingestion applies them to the next complaint.
use super::directory::{Department, Municipality, department_by_id, municipality_by_id};
use super::enums::Category;
use super::{ctx_db, parse_id, request, snapshot};
use crate::auth::policy::{self, Action};
use crate::cache::{Cache, Topic};
use crate::error::GqlResult;
use crate::{Error, store};
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

fn require_operator(ctx: &Context<'_>) -> Result<()> {
    let p = &request(ctx).principal;
    if policy::may(p, Action::EditRouting) {
        return Ok(());
    }
    Err(Error::Forbidden(format!("role `{}` may not edit routing rules", p.role.as_str()))).gql()
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
        require_operator(ctx)?;
        let directory = snapshot(ctx).await?;
        let department = parse_id::<i32>(&department_id, "departmentId").gql()?;
        if directory.department(department).is_none() {
            return Err(Error::bad_input(format!("unknown department {department}"))).gql();
        }
        let municipality =
            municipality_id.map(|m| parse_id::<i32>(&m, "municipalityId")).transpose().gql()?;
        if let Some(m) = municipality
            && directory.municipality(m).is_none()
        {
            return Err(Error::bad_input(format!("unknown municipality {m}"))).gql();
        }
        let now = request(ctx).now;
        let rule = store::routing::set(
            ctx_db(ctx).write(),
            category.into(),
            municipality,
            department,
            now,
        )
        .await
        .gql()?;
        ctx.data_unchecked::<Cache>().bump(Topic::Routing).await;
        Ok(RoutingRule(rule))
    }

    /// Deletes a routing rule; complaints it covered fall back to the region-wide rule.
    #[graphql(visible = "super::visibility::edit_routing")]
    async fn delete_routing_rule(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        require_operator(ctx)?;
        let id = parse_id::<i32>(&id, "id").gql()?;
        store::routing::delete(ctx_db(ctx).write(), id).await.gql()?;
        ctx.data_unchecked::<Cache>().bump(Topic::Routing).await;
        Ok(true)
    }
}
