//! Subscriptions through the pipeline: the same checks as any operation when a client
//! subscribes, then a probe execution that checks the fields' arguments and finds what the
//! subscription wants; afterwards the live hub runs the accepted document once per delivery
//! for each group of subscribers (`deliver`), and writes the audit of each member's reads.
use super::{Answer, Outcome, Pipeline, Transport, code_request_errors, operation_name};
use crate::{
    Error, Result,
    auth::Principal,
    graphql::{
        RequestCtx,
        documents::chosen_operation,
        response_order::order_response,
        subscription::{Delivery, Wanted},
    },
    store,
};
use async_graphql::{
    Request, Response, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// A subscription the checks accepted.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// The document's text (with the name and variables: what groups subscribers).
    pub(crate) query: String,
    /// The chosen operation.
    pub(crate) operation_name: Option<String>,
    /// Its variables.
    pub(crate) variables: Variables,
    /// The parsed document.
    doc: Arc<ExecutableDocument>,
    /// What it wants delivered.
    pub(crate) wanted: Wanted,
}

/// What subscribing gave.
pub(crate) enum Subscribed {
    /// A live subscription.
    Stream(Box<Accepted>),
    /// A single answer: a query or mutation sent over the socket, or a refusal.
    Answer(Answer),
}

impl Pipeline {
    /// Checks an operation a socket sends: a subscription is accepted (or refused with its
    /// errors); a query or mutation is answered at once.
    pub(crate) async fn subscribe(
        &self,
        principal: &Principal,
        client: Option<IpAddr>,
        req: Request,
    ) -> Subscribed {
        // A subscription spends from the same budget as any operation.
        let checked = self.admit(principal, client, req, false).await.checked;
        let (req, doc) = match checked {
            Ok(c) => (c.req, c.doc),
            Err(refused) => return Subscribed::Answer(refused),
        };
        let op = req.operation_name.as_deref();
        let subscription = doc.clone().filter(|d| {
            chosen_operation(d, op).is_some_and(|o| o.node.ty == OperationType::Subscription)
        });
        let Some(doc) = subscription else {
            let transport = Transport { read_only: false, use_cache: true };
            return Subscribed::Answer(self.answer_checked(principal, req, doc, transport).await);
        };
        let wanted = Arc::new(Mutex::new(None));
        let (query, operation_name) = (req.query.clone(), req.operation_name.clone());
        let variables = req.variables.clone();
        let ctx = RequestCtx::new(principal.clone(), self.max_page_size);
        let probe = req.data(ctx).data(Delivery::Probe(wanted.clone()));
        let mut stream = self.schema.execute_stream(probe);
        let first = tokio::time::timeout(self.request_timeout, stream.next()).await;
        match first {
            Ok(Some(mut resp)) => {
                code_request_errors(&mut resp, true);
                let resp = if resp.errors.is_empty() {
                    // A probe yields nothing; anything else is this module's bug.
                    let err = Error::Internal("the subscription probe yielded an item".into());
                    Response::from_errors(vec![err.to_server_error()])
                } else {
                    resp
                };
                return Subscribed::Answer(Answer::Fresh(Box::new(resp), Outcome::NotRun));
            }
            Ok(None) => {}
            Err(_) => {
                let err = Error::Timeout("the subscription was not checked in time".into());
                let resp = Response::from_errors(vec![err.to_server_error()]);
                return Subscribed::Answer(Answer::Fresh(Box::new(resp), Outcome::TimedOut));
            }
        }
        let Some(wanted) = wanted.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            let err = Error::Internal("the subscription field did not run".into());
            let resp = Response::from_errors(vec![err.to_server_error()]);
            return Subscribed::Answer(Answer::Fresh(Box::new(resp), Outcome::Failed));
        };
        Subscribed::Stream(Box::new(Accepted { query, operation_name, variables, doc, wanted }))
    }

    /// Runs `accepted` for `principal` with `delivery`: the one answer, and the complaints
    /// whose author it holds (each reader's audit is written with [`Pipeline::audit`] before
    /// the answer reaches it).
    pub(crate) async fn deliver(
        &self,
        principal: &Principal,
        accepted: &Accepted,
        delivery: Delivery,
    ) -> (Response, Vec<i64>) {
        let mut req = Request::new(accepted.query.clone()).variables(accepted.variables.clone());
        if let Some(name) = &accepted.operation_name {
            req = req.operation_name(name);
        }
        req.set_parsed_query((*accepted.doc).clone());
        let ctx = RequestCtx::new(principal.clone(), self.max_page_size);
        let req = req.data(ctx.clone()).data(delivery);
        let mut stream = self.schema.execute_stream(req);
        let resp = match tokio::time::timeout(self.request_timeout, stream.next()).await {
            Ok(Some(resp)) => resp,
            Ok(None) => Response::default(),
            Err(_) => {
                let err = Error::Timeout("the event could not be resolved in time".into());
                Response::from_errors(vec![err.to_server_error()])
            }
        };
        let mut resp = resp;
        code_request_errors(&mut resp, true);
        let op = accepted.operation_name.as_deref();
        order_response(&mut resp.data, &accepted.doc, op, &accepted.variables);
        (resp, ctx.take_author_reads())
    }

    /// Writes the audit records of `principal`'s reads of the authors of `reads`.
    pub(crate) async fn audit(
        &self,
        principal: &Principal,
        accepted: &Accepted,
        reads: &[i64],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if reads.is_empty() {
            return Ok(());
        }
        let req = Request::new(accepted.query.clone());
        let req = match &accepted.operation_name {
            Some(name) => req.operation_name(name),
            None => req,
        };
        let operation = operation_name(&req, Some(&accepted.doc));
        store::audit::record(&self.db, principal, operation.as_deref(), reads, now).await?;
        self.metrics.audit_records(reads.len());
        Ok(())
    }
}
