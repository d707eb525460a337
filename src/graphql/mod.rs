//! The GraphQL schema: roots merged per domain area, thin types over store rows.
pub mod complaint;
pub mod directory;
pub mod documents;
pub mod enums;
pub mod prefetch;
mod viewer;

use crate::{
    Error,
    auth::Principal,
    store::{
        Db,
        directory::{Directory, Snapshot},
    },
};
use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, ID, MergedObject, Schema,
};
use chrono::{DateTime, Utc};
use std::{str::FromStr, sync::Arc};
use tokio::sync::OnceCell;

/// Every root query field, merged from the domain areas.
#[derive(MergedObject, Default)]
pub struct QueryRoot(complaint::ComplaintQuery, directory::DirectoryQuery, viewer::ViewerQuery);

/// The gateway's schema type.
pub type AppSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema; `db` and the directory are shared by all requests.
pub fn build_schema(db: Db, directory: Arc<Directory>) -> AppSchema {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription)
        .data(db)
        .data(directory)
        .finish()
}

/// The schema SDL, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription).finish().sdl()
}

/// What one request carries: who asks, and one `now` for consistent answers.
#[derive(Clone)]
pub struct RequestCtx {
    /// The caller.
    pub principal: Principal,
    /// The instant the request is evaluated at (overdue flags and filters agree).
    pub now: DateTime<Utc>,
    /// Largest page size.
    pub max_page_size: u32,
    /// The directory snapshot, taken at first use.
    pub snapshot: Arc<OnceCell<Arc<Snapshot>>>,
}

impl RequestCtx {
    /// A request context for `principal`.
    pub fn new(principal: Principal, max_page_size: u32) -> Self {
        RequestCtx { principal, now: Utc::now(), max_page_size, snapshot: Arc::default() }
    }
}

pub(crate) fn request<'a>(ctx: &Context<'a>) -> &'a RequestCtx {
    ctx.data_unchecked::<RequestCtx>()
}

pub(crate) fn ctx_db<'a>(ctx: &Context<'a>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

/// The directory snapshot of this request (taken once, so one request sees one version).
pub(crate) async fn snapshot(ctx: &Context<'_>) -> async_graphql::Result<Arc<Snapshot>> {
    let req = request(ctx);
    req.snapshot
        // Boxed: the load future is large, and every field future that awaits a snapshot
        // would otherwise carry its size (async-graphql moves field futures around a lot).
        .get_or_try_init(|| Box::pin(ctx.data_unchecked::<Arc<Directory>>().snapshot()))
        .await
        .cloned()
        .map_err(|e| e.extend())
}

/// Parses a numeric ID argument, naming the argument in the error.
pub(crate) fn parse_id<T: FromStr>(id: &ID, name: &str) -> crate::Result<T> {
    id.as_str()
        .parse()
        .map_err(|_| Error::bad_input(format!("`{name}` is not a valid id: {:?}", id.as_str())))
}
