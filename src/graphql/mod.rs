//! The GraphQL schema: roots merged per domain area, thin types over store rows.
pub(crate) mod audit;
pub(crate) mod cacheable;
pub(crate) mod compiled;
pub(crate) mod complaint;
mod complaint_row;
mod connectors;
pub(crate) mod directory;
pub(crate) mod documents;
pub(crate) mod enums;
pub mod federation;
pub mod fields;
pub(crate) mod guard;
pub(crate) mod ingest;
pub(crate) mod kpi;
pub(crate) mod lifecycle;
pub(crate) mod prefetch;
pub(crate) mod response_order;
pub(crate) mod routing;
mod sessions;
pub(crate) mod subscription;
pub(crate) mod variables;
mod viewer;
mod visibility;
mod walk;

use crate::service::Notifier;
use crate::{
    Error,
    auth::Principal,
    store::{
        Db,
        directory::{Directory, Snapshot},
    },
};
use async_graphql::{Context, ErrorExtensions, ID, MergedObject, Schema};
use chrono::{DateTime, Utc};
use std::{
    str::FromStr,
    sync::{Arc, Mutex},
};
use subscription::SubscriptionRoot;
use tokio::sync::OnceCell;

/// Every root query field, merged from the domain areas.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    complaint::ComplaintQuery,
    directory::DirectoryQuery,
    viewer::ViewerQuery,
    audit::AuditQuery,
    routing::RoutingQuery,
    kpi::KpiQueryRoot,
    connectors::ConnectorQuery,
    federation::FederationQuery,
);

/// Every root mutation field, merged from the domain areas.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation", visible = "visibility::mutation_root")]
pub struct MutationRoot(
    ingest::IngestMutation,
    lifecycle::LifecycleMutation,
    routing::RoutingMutation,
    sessions::SessionMutation,
    connectors::ConnectorMutation,
);

/// The gateway's schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, subscription::SubscriptionRoot>;

/// Builds the schema; `db`, the directory, the cache and the connectors are shared by all
/// requests. It has no extensions: complaint pages are built from compiled plans
/// (`compiled`), which would bypass per-field extension hooks.
pub fn build_schema(
    db: Db,
    directory: Arc<Directory>,
    notifier: Notifier,
    connectors: Arc<crate::connectors::Connectors>,
    federation: bool,
) -> AppSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        .data(db)
        .data(connectors)
        .data(federation::Federation(federation))
        .data(directory)
        .data(notifier.cache.clone())
        .data(notifier)
        // "Did you mean …" would name fields and arguments the caller's role may not see.
        .disable_suggestions()
        .finish()
}

pub use federation::subgraph_sdl;

/// The schema SDL, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot).finish().sdl()
}

/// What one request carries: who asks, one `now` for consistent answers, and the personal-data
/// reads to audit once it is answered.
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
    /// Complaints whose author this request resolved.
    pub author_reads: Arc<Mutex<Vec<i64>>>,
}

impl RequestCtx {
    /// A request context for `principal`.
    pub fn new(principal: Principal, max_page_size: u32) -> Self {
        RequestCtx {
            principal,
            now: Utc::now(),
            max_page_size,
            snapshot: Arc::default(),
            author_reads: Arc::default(),
        }
    }

    /// Notes that the author of `complaint_id` is being returned.
    pub fn record_author_read(&self, complaint_id: i64) {
        self.author_reads.lock().unwrap_or_else(|e| e.into_inner()).push(complaint_id);
    }

    /// The complaints whose author was read, each once, in order of first read.
    pub fn take_author_reads(&self) -> Vec<i64> {
        let mut reads =
            std::mem::take(&mut *self.author_reads.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = std::collections::HashSet::new();
        reads.retain(|id| seen.insert(*id));
        reads
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

/// Null with `err` at this field's path: a row-dependent refusal leaves the field present as
/// `null` (async-graphql would drop an erroring field's key) and the rest of the data intact.
pub(crate) fn null_with_error<T>(ctx: &Context<'_>, err: &Error) -> Option<T> {
    let server = err.extend().into_server_error(ctx.item.pos);
    ctx.add_error(ctx.set_error_path(server));
    None
}

/// A free text as the caller may see it: personal data masked where the policy says so.
pub(crate) fn shown_text<'a>(ctx: &Context<'_>, text: &'a str) -> std::borrow::Cow<'a, str> {
    shown(crate::auth::policy::masks_texts(&request(ctx).principal), text)
}

/// A free text, masked when `masks` (the caller's policy) says so.
pub(crate) fn shown(masks: bool, text: &str) -> std::borrow::Cow<'_, str> {
    if masks { crate::domain::masking::mask(text) } else { std::borrow::Cow::Borrowed(text) }
}

/// Parses a numeric ID argument, naming the argument in the error.
pub(crate) fn parse_id<T: FromStr>(id: &ID, name: &str) -> crate::Result<T> {
    id.as_str()
        .parse()
        .map_err(|_| Error::bad_input(format!("`{name}` is not a valid id: {:?}", id.as_str())))
}
