//! `me`: who the gateway thinks the caller is.
use super::request;
use async_graphql::{Context, ID, Object, SimpleObject};

/// The caller as the gateway sees them.
#[derive(SimpleObject)]
pub struct Viewer {
    /// Subject of the token.
    pub sub: String,
    /// Role of the roles matrix.
    pub role: String,
    /// Department of a ministry caller.
    pub department_id: Option<ID>,
    /// Municipality of a municipality caller.
    pub municipality_id: Option<ID>,
}

/// Root field `me`.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> Viewer {
        let p = &request(ctx).principal;
        Viewer {
            sub: p.sub.clone(),
            role: p.role.as_str().to_owned(),
            department_id: p.department_id.map(|d| ID(d.to_string())),
            municipality_id: p.municipality_id.map(|m| ID(m.to_string())),
        }
    }
}
