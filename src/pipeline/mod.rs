//! One request pipeline for every transport: from an authenticated principal and a GraphQL
//! request to its answer. It parses (through the document cache), checks the operation
//! against the roles matrix and the query limits, applies the introspection setting, answers
//! repeated reads from the operation cache, executes within the time limit, writes the audit
//! trail of the personal data the answer holds (or withholds the answer), and puts the
//! answer's keys in the order of the selection. HTTP POST and GET are thin adapters of it; a
//! WebSocket transport is another (`subscribe.rs`: subscriptions are checked here and each
//! delivery runs here too).
pub mod persisted;
mod subscribe;

pub(crate) use subscribe::{Accepted, Subscribed};

use crate::{
    Error,
    auth::Principal,
    cache::{Cache, Topic},
    config::{Introspection, QueryLimits},
    graphql::{
        AppSchema, RequestCtx,
        cacheable::cacheable,
        documents::{DocumentCache, chosen_operation},
        guard,
        guard::TypeIndex,
        response_order::order_response,
        variables::InputTypes,
    },
    ratelimit::{self, Limiter, Quota, Subject},
    store::{self, Db, scope::Scoped},
    telemetry::metrics::Metrics,
};
use async_graphql::{
    Request, Response,
    parser::types::{DocumentOperations, ExecutableDocument},
};
use std::{net::IpAddr, sync::Arc, time::Duration};

/// What the transport lets an operation do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Only queries run (GET: a link can never change anything).
    pub read_only: bool,
    /// The answer may come from, and go into, the operation cache (not for batches: one body
    /// answers many operations there).
    pub use_cache: bool,
}

/// How an answer came about, for the transport to say (an HTTP status, a close code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The operation ran; field errors, if any, are in the answer.
    Executed,
    /// Nothing ran: the document did not parse or validate, or the checks refused it.
    NotRun,
    /// A mutation over a read-only transport; nothing ran.
    ReadOnly,
    /// The operation ran past the time limit.
    TimedOut,
    /// The gateway could not finish the answer (the audit write failed); nothing was sent.
    Failed,
    /// The database is unreachable; nothing of the answer was sent.
    Unavailable,
    /// The caller's budget is spent; nothing ran.
    RateLimited,
}

/// An operation's answer.
#[derive(Debug)]
pub enum Answer {
    /// Built now.
    Fresh(Box<Response>, Outcome),
    /// The serialized answer of the operation cache (this execution's, or an earlier
    /// identical operation's in the same scope).
    Cached(bytes::Bytes),
}

/// An answer with what the caller's budget said about it.
#[derive(Debug)]
pub struct Reply {
    /// The answer.
    pub answer: Answer,
    /// The budget after this operation; `None` when the role is unlimited.
    pub quota: Option<Quota>,
}

/// An answer the operation cache must not keep (it has errors): handed back to its reader.
struct NotStored(Box<Response>, Outcome);

/// The shared parts of the pipeline, built once per gateway.
pub struct Pipeline {
    /// The schema.
    pub schema: AppSchema,
    /// Field types of the schema, for the checks before execution.
    pub types: Arc<TypeIndex>,
    /// Input types of the schema, for the variables' check.
    pub inputs: Arc<InputTypes>,
    /// Parsed documents of recent operations.
    pub documents: Arc<DocumentCache>,
    /// Query limits.
    pub limits: QueryLimits,
    /// Who may introspect.
    pub introspection: Introspection,
    /// Time limit of one operation.
    pub request_timeout: Duration,
    /// Largest page size.
    pub max_page_size: u32,
    /// The read cache (operation answers live there).
    pub cache: Cache,
    /// Whether whole read operations are cached.
    pub cache_operations: bool,
    /// Where audit records go.
    pub db: Db,
    /// The callers' request budgets.
    pub(crate) limiter: Limiter,
    /// This gateway's metrics.
    pub metrics: Metrics,
    /// Trusted and registered (persisted) documents.
    pub(crate) persisted: persisted::Documents,
}

impl Pipeline {
    /// Answers one operation for `principal`, whose request came from `client`.
    pub async fn answer(
        &self,
        principal: &Principal,
        client: Option<IpAddr>,
        req: Request,
        transport: Transport,
    ) -> Reply {
        let started = std::time::Instant::now();
        let _counted = self.metrics.in_flight();
        let Admitted { checked, operation, quota } =
            self.admit(principal, client, req, transport.read_only).await;
        let answer = match checked {
            Ok(c) => self.answer_checked(principal, c.req, c.doc, transport).await,
            Err(refused) => refused,
        };
        let codes = match &answer {
            Answer::Fresh(resp, _) => error_codes(resp),
            Answer::Cached(_) => Vec::new(),
        };
        self.metrics.request(operation.as_deref(), started.elapsed(), codes.into_iter());
        Reply { answer, quota }
    }

    /// Takes an operation from its caller's budget in two steps: one request before anything
    /// is looked up or parsed (a caller over its budget costs one limiter call and nothing
    /// else: no persisted-document lookup, no registration, no parse), then the rest of its
    /// cost once the guard has estimated it. A refusal at either step is the answer.
    async fn admit(
        &self,
        principal: &Principal,
        client: Option<IpAddr>,
        req: Request,
        read_only: bool,
    ) -> Admitted {
        let subject = Subject::of(principal, client);
        let first = self.spend(principal, &subject, 1).await;
        if let Some(q) = first.filter(|q| !q.allowed()) {
            record_caller(principal, None);
            return Admitted { checked: Err(rate_limited(&q)), operation: None, quota: Some(q) };
        }
        let checked = self.resolved_and_checked(principal, req, read_only).await;
        let operation =
            checked.as_ref().ok().and_then(|c| operation_name(&c.req, c.doc.as_deref()));
        record_caller(principal, operation.as_deref());
        let extra = checked.as_ref().map_or(0, |c| ratelimit::cost(c.complexity) - 1);
        let quota = match extra {
            0 => first,
            extra => self.spend(principal, &subject, extra).await.or(first),
        };
        let checked = match quota {
            Some(q) if !q.allowed() => Err(rate_limited(&q)),
            _ => checked,
        };
        Admitted { checked, operation, quota }
    }

    /// Takes `cost` requests from the subject's budget.
    async fn spend(&self, principal: &Principal, subject: &Subject, cost: u32) -> Option<Quota> {
        let taken = self.limiter.take(subject, cost).await?;
        if taken.counted_locally {
            self.metrics.rate_limit_fallback();
        }
        if !taken.quota.allowed() {
            self.metrics.rate_limited(principal.role.as_str());
        }
        Some(taken.quota)
    }

    /// Answers an operation that passed the checks.
    async fn answer_checked(
        &self,
        principal: &Principal,
        req: Request,
        doc: Option<Arc<ExecutableDocument>>,
        transport: Transport,
    ) -> Answer {
        let cacheable = transport.use_cache
            && self.cache_operations
            && doc
                .as_deref()
                .is_some_and(|d| cacheable(d, req.operation_name.as_deref(), &self.types));
        if !cacheable {
            let (resp, outcome) = self.execute(principal, req, doc.as_deref()).await;
            return Answer::Fresh(Box::new(resp), outcome);
        }
        let key = operation_key(principal, &req);
        let compute = async {
            let (resp, outcome) = self.execute(principal, req, doc.as_deref()).await;
            if outcome != Outcome::Executed || !resp.errors.is_empty() {
                return Err(NotStored(Box::new(resp), outcome));
            }
            // Serializing a response that was built from JSON values cannot fail; if it did,
            // the reader still gets its answer, uncached.
            serde_json::to_vec(&resp)
                .map(bytes::Bytes::from)
                .map_err(|_| NotStored(Box::new(resp), outcome))
        };
        match self.cache.get_or_compute_bytes(Topic::Complaints, "op", &key, compute).await {
            Ok(bytes) => Answer::Cached(bytes),
            Err(NotStored(resp, outcome)) => Answer::Fresh(resp, outcome),
        }
    }

    /// Gives the request its persisted document (if it names one), then parses and checks it.
    async fn resolved_and_checked(
        &self,
        principal: &Principal,
        mut req: Request,
        read_only: bool,
    ) -> Result<Checked, Answer> {
        match self.persisted.resolve(principal.role, &mut req).await {
            Ok(()) => self.checked(principal, req, read_only),
            Err(err) => Err(refused(&err, Outcome::NotRun)),
        }
    }

    /// Parses and checks one operation: the request with its document, or the refusal.
    fn checked(
        &self,
        principal: &Principal,
        mut req: Request,
        read_only: bool,
    ) -> Result<Checked, Answer> {
        let introspection = match self.introspection {
            Introspection::All => true,
            Introspection::Authenticated => principal.is_authenticated(),
            Introspection::Off => false,
        };
        let doc = self.documents.prepare(&mut req);
        let mut complexity = 0;
        if let Some(doc) = &doc {
            let op = req.operation_name.as_deref();
            if let Some(name) = op
                && chosen_operation(doc, op).is_none()
            {
                let err =
                    Error::OperationNotFound(format!("the document has no operation {name:?}"));
                return Err(refused(&err, Outcome::NotRun));
            }
            if read_only && guard::is_mutation(doc, op) {
                let err = Error::bad_input("mutations must be sent with POST");
                return Err(refused(&err, Outcome::ReadOnly));
            }
            let caller = guard::Caller { role: principal.role, introspection };
            match guard::check(&self.types, doc, op, &req.variables, caller, &self.limits) {
                Ok(m) => {
                    tracing::debug!(
                        depth = m.depth,
                        complexity = m.complexity,
                        aliases = m.aliases,
                        "operation checked"
                    );
                    complexity = m.complexity;
                }
                Err(refusal) => return Err(refused(&Error::from(refusal), Outcome::NotRun)),
            }
            // Variables that do not coerce, or a required one missing: nothing runs.
            if let Err(err) = self.inputs.check(doc, op, &req.variables) {
                return Err(refused(&err, Outcome::NotRun));
            }
        }
        if !introspection {
            req = req.disable_introspection();
        }
        Ok(Checked { req, doc, complexity })
    }

    /// Executes a checked operation within the time limit and writes its audit trail.
    async fn execute(
        &self,
        principal: &Principal,
        req: Request,
        doc: Option<&ExecutableDocument>,
    ) -> (Response, Outcome) {
        let operation = operation_name(&req, doc);
        if self.db.health().is_down() {
            return unavailable(crate::error::DATABASE_DOWN.into());
        }
        // Kept for putting the answer's keys in order (`@skip`/`@include` decide what is there).
        let variables = req.variables.clone();
        let ctx = RequestCtx::new(principal.clone(), self.max_page_size);
        let mut req = req.data(ctx.clone());
        if doc.is_some_and(|d| guard::is_mutation(d, operation.as_deref())) {
            // What a mutation returns is read after its write: from the primary, never a
            // replica that may not have the write yet.
            req = req.data(self.db.primary_only());
        }
        let Ok(mut resp) =
            tokio::time::timeout(self.request_timeout, self.schema.execute(req)).await
        else {
            let secs = self.request_timeout.as_secs_f32();
            let err = Error::Timeout(format!("the request did not finish within {secs} s"));
            return (Response::from_errors(vec![err.to_server_error()]), Outcome::TimedOut);
        };
        let outcome = code_request_errors(&mut resp, doc.is_some());
        if let Some(message) = outage_met(&resp) {
            // A partial answer would pass for a complete one (counts, pages): none is sent.
            self.db.health().suspect();
            if let Some(replica) = self.db.replica() {
                replica.suspect();
            }
            return unavailable(message);
        }
        // Personal data leaves only with its audit record written.
        let reads = ctx.take_author_reads();
        match store::audit::record(&self.db, principal, operation.as_deref(), &reads, ctx.now).await
        {
            Ok(()) => self.metrics.audit_records(reads.len()),
            Err(Error::Unavailable(message)) => {
                self.db.health().suspect();
                return unavailable(message);
            }
            Err(err) => {
                tracing::error!(%err, reads = reads.len(), "audit write failed; answer withheld");
                let err = Error::Internal("the read could not be audited".into());
                return (Response::from_errors(vec![err.to_server_error()]), Outcome::Failed);
            }
        }
        if let Some(doc) = doc {
            order_response(&mut resp.data, doc, operation.as_deref(), &variables);
        }
        (resp, outcome)
    }
}

/// An operation past the budget: checked (or its refusal), its name, the caller's budget.
struct Admitted {
    checked: Result<Checked, Answer>,
    operation: Option<String>,
    quota: Option<Quota>,
}

/// An operation that passed the checks, ready to run.
struct Checked {
    req: Request,
    doc: Option<Arc<ExecutableDocument>>,
    /// The guard's estimate of its result size.
    complexity: u64,
}

/// The refusal of an operation over its caller's budget.
fn rate_limited(quota: &Quota) -> Answer {
    let wait = quota.retry_after.unwrap_or_default();
    let secs = ratelimit::whole_seconds(wait);
    let err = Error::RateLimited(format!(
        "over the budget of {} requests a minute for role {}; retry in {secs} s",
        quota.limit,
        quota.role.as_str()
    ));
    let mut server = err.to_server_error();
    if let Some(ext) = server.extensions.as_mut() {
        ext.set("retryAfter", secs);
    }
    Answer::Fresh(Box::new(Response::from_errors(vec![server])), Outcome::RateLimited)
}

/// The codes of an answer's errors, in order (a code-less error counts as INTERNAL).
fn error_codes(resp: &Response) -> Vec<&str> {
    resp.errors
        .iter()
        .map(|e| match e.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(code)) => code.as_str(),
            _ => "INTERNAL",
        })
        .collect()
}

/// Names the caller and the operation on the request's span, so every log line of the
/// request carries them (never the document, its variables or any personal data).
fn record_caller(principal: &Principal, operation: Option<&str>) {
    let span = tracing::Span::current();
    span.record("role", principal.role.as_str());
    span.record("sub", principal.sub.as_str());
    if let Some(name) = operation {
        span.record("operation", name);
    }
}

/// The answer when the database is unreachable or every connection is busy (`message` says
/// which).
fn unavailable(message: String) -> (Response, Outcome) {
    let err = Error::Unavailable(message);
    (Response::from_errors(vec![err.to_server_error()]), Outcome::Unavailable)
}

/// The message of the first field that failed because the database was unreachable or every
/// connection was busy, if one did (the two say different things to the client).
fn outage_met(resp: &Response) -> Option<String> {
    let code = async_graphql::Value::from(Error::Unavailable(String::new()).code());
    resp.errors
        .iter()
        .find(|e| e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&code))
        .map(|e| e.message.clone())
}

/// A refusal before anything ran.
fn refused(err: &Error, outcome: Outcome) -> Answer {
    Answer::Fresh(Box::new(Response::from_errors(vec![err.to_server_error()])), outcome)
}

/// Gives the errors async-graphql reports before executing (they carry no code) the
/// contract's codes — a document that did not parse is GRAPHQL_PARSE_FAILED, one that failed
/// validation (errors without a path) GRAPHQL_VALIDATION_FAILED — and says whether the
/// operation ran at all.
fn code_request_errors(resp: &mut Response, parsed: bool) -> Outcome {
    let mut outcome = Outcome::Executed;
    for err in &mut resp.errors {
        let extensions = err.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() || !err.path.is_empty() {
            continue;
        }
        let code = if parsed { "GRAPHQL_VALIDATION_FAILED" } else { "GRAPHQL_PARSE_FAILED" };
        extensions.set("code", code);
        outcome = Outcome::NotRun;
    }
    outcome
}

/// The operation's name for the audit trail: the chosen one, or the only named one.
fn operation_name(req: &Request, doc: Option<&ExecutableDocument>) -> Option<String> {
    req.operation_name.clone().or_else(|| match doc.map(|d| &d.operations) {
        Some(DocumentOperations::Multiple(ops)) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string())
        }
        _ => None,
    })
}

/// What makes two operations the same answer: the caller's role and row scope (never the
/// caller alone), the text, the chosen operation and the variables — as one JSON value, so
/// no part can run into the next.
fn operation_key(principal: &Principal, req: &Request) -> String {
    serde_json::json!([
        principal.role.as_str(),
        Scoped::of(principal).row_scope().key(),
        req.operation_name,
        req.query,
        req.variables,
    ])
    .to_string()
}
