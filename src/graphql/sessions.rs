//! `revokeSessions`: ends every live session of a token subject, on every replica.
use super::request;
use crate::error::GqlResult;
use crate::service::{Notifier, sessions};
use async_graphql::{Context, Object, Result};

/// Root field of sessions.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Closes every WebSocket of token subject `sub` on every replica (close code 4403), so
    /// its clients must come back with a fresh token.
    #[graphql(visible = "super::visibility::revoke_sessions")]
    async fn revoke_sessions(&self, ctx: &Context<'_>, sub: String) -> Result<bool> {
        let notifier = ctx.data_unchecked::<Notifier>();
        sessions::revoke(notifier, &request(ctx).principal, &sub).await.gql()?;
        Ok(true)
    }
}
