//! `/graphql/ws`: GraphQL over WebSocket, in graphql-transport-ws or the legacy graphql-ws
//! (chosen by `Sec-WebSocket-Protocol`), a thin adapter of the pipeline and the live hub.
//!
//! async-graphql's own WebSocket loop deviates from graphql-transport-ws (it closes with
//! 1002/1011, has no init timer, silently replaces a duplicate id), so this module runs the
//! protocol itself: 4400 for a message that is not the protocol's, 4401 for a subscribe
//! before the ack, 4403 for a refused, expired or revoked token, 4408 when no init comes in
//! time, 4409 for an id in use, 4429 for a second init; pings are answered, idle sockets are
//! pinged, and a socket silent for two intervals is closed.
mod protocol;

use super::client::ClientAddr;
use crate::{
    auth::Principal,
    live::{Hub, Item, MemberStream, Membership, SessionGuard},
    pipeline::{Answer, Outcome, Subscribed},
    state::{AppState, Phase},
};
use axum::{
    Extension,
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, LEGACY, Protocol, TRANSPORT_WS, close, token_of};
use serde_json::{Value, json};
use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

/// Read buffer per socket: tungstenite's default of 128 KiB would be 1.3 GB at 10,000 sockets.
const READ_BUFFER: usize = 4 * 1024;
/// Largest message a client may send (a subscribe with its document and variables).
const MAX_MESSAGE: usize = 256 * 1024;
/// Frames waiting to be written per socket; producers wait when it is full. A socket that
/// stops reading holds these, its subscriptions' queues (shared answers) and one frame.
const OUT_QUEUE: usize = 16;

/// What the writer sends.
enum Out {
    Text(String),
    /// A result of subscription `id`: the group's shared answer, framed only when written,
    /// so a slow socket holds no copy of it.
    Next(Protocol, Arc<str>, Arc<str>),
    Ping,
    Close(u16, String),
}

/// What a subscription task tells its session.
enum Ctl {
    /// Subscription `id` finished on its own.
    Done(String),
    /// Close the socket.
    Close(u16, String),
}

/// Upgrades `/graphql/ws`, if the instance has room for one more socket.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(permit) = state.live.admit() else {
        let body = json!({ "errors": [{ "message": "too many open WebSockets on this instance",
            "extensions": { "code": "RATE_LIMITED" } }] });
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    };
    let ws = ws
        .protocols([TRANSPORT_WS, LEGACY])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_MESSAGE * 4)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE);
    let protocol = match ws.selected_protocol().and_then(|p| p.to_str().ok()) {
        Some(LEGACY) => Protocol::Legacy,
        _ => Protocol::TransportWs,
    };
    ws.on_upgrade(move |socket| async move {
        Session::new(state, protocol, client.0).run(socket, permit).await;
    })
}

/// One socket's protocol state.
struct Session {
    state: AppState,
    protocol: Protocol,
    principal: Option<Principal>,
    /// The client's address (its subscriptions spend from its budget when anonymous).
    client: Option<IpAddr>,
    subscriptions: HashMap<String, JoinHandle<()>>,
}

/// Who runs a subscription.
struct Caller {
    principal: Principal,
    client: Option<IpAddr>,
}

impl Session {
    fn new(state: AppState, protocol: Protocol, client: Option<IpAddr>) -> Self {
        Session { state, protocol, principal: None, client, subscriptions: HashMap::new() }
    }

    async fn run(mut self, socket: WebSocket, permit: tokio::sync::OwnedSemaphorePermit) {
        let (mut sink, mut stream) = socket.split();
        let (out, mut out_rx) = mpsc::channel::<Out>(OUT_QUEUE);
        let writer = tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                let sent = match frame {
                    Out::Text(text) => sink.send(Message::Text(text.into())).await,
                    Out::Next(protocol, id, payload) => {
                        sink.send(Message::Text(protocol.next(&id, &payload).into())).await
                    }
                    Out::Ping => sink.send(Message::Ping(Default::default())).await,
                    Out::Close(code, reason) => {
                        let frame = CloseFrame { code, reason: reason.into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        break;
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        let (ctl, mut ctl_rx) = mpsc::channel::<Ctl>(16);
        let live = self.state.live.clone();
        let settings = &self.state.live_config;
        let init_deadline = Instant::now() + settings.init_timeout();
        let ping_every = settings.ping_interval();
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut last_heard = Instant::now();
        let mut session = None;
        let mut expires: Option<Instant> = None;
        let mut permit = Some(permit);
        let mut phase = self.state.phase.subscribe();
        let closing: (u16, String) = loop {
            tokio::select! {
                // The replica is stopping: clients reconnect elsewhere and resume from their cursor.
                () = Phase::reached(&mut phase, Phase::Closing) => {
                    break (close::GOING_AWAY, "the server is shutting down".into());
                }
                _ = tokio::time::sleep_until(init_deadline), if self.principal.is_none() => {
                    break (close::INIT_TIMEOUT, "Connection initialisation timeout".into());
                }
                _ = tokio::time::sleep_until(expires.unwrap_or_else(far_future)), if expires.is_some() => {
                    break (close::FORBIDDEN, "Forbidden: the token has expired".into());
                }
                _ = revoked(&mut session) => break (close::FORBIDDEN, "Forbidden: the session was revoked".into()),
                _ = ping.tick() => {
                    if last_heard.elapsed() > ping_every * 2 {
                        break (close::GOING_AWAY, "keep-alive timeout".into());
                    }
                    let _ = out.try_send(Out::Ping);
                    if let Some(ka) = self.protocol.keep_alive() {
                        let _ = out.try_send(Out::Text(ka));
                    }
                }
                Some(c) = ctl_rx.recv() => match c {
                    Ctl::Done(id) => { self.subscriptions.remove(&id); }
                    Ctl::Close(code, reason) => break (code, reason),
                },
                frame = stream.next() => {
                    last_heard = Instant::now();
                    let text = match frame {
                        None | Some(Err(_)) => break (close::NORMAL, String::new()),
                        Some(Ok(Message::Close(_))) => break (close::NORMAL, String::new()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => {
                            break (close::BAD_MESSAGE, "Invalid message: binary frames are not part of the protocol".into());
                        }
                        Some(Ok(Message::Text(text))) => text,
                    };
                    let message = match self.protocol.parse(text.as_str()) {
                        Ok(m) => m,
                        Err(reason) => break (close::BAD_MESSAGE, reason),
                    };
                    match message {
                        ClientMessage::Init(payload) => {
                            if self.principal.is_some() {
                                break (close::TOO_MANY_INITS, "Too many initialisation requests".into());
                            }
                            match self.authenticate(payload.as_ref()).await {
                                Ok((principal, until)) => {
                                    let Some(p) = permit.take() else { break (close::TOO_MANY_INITS, "Too many initialisation requests".into()) };
                                    session = Some(live.session(&principal.sub, p));
                                    expires = until.map(|at| {
                                        let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                                        Instant::now() + left
                                    });
                                    self.principal = Some(principal);
                                    let _ = out.send(Out::Text(self.protocol.ack())).await;
                                }
                                Err(reason) => {
                                    if let Some(msg) = self.protocol.connection_error(&reason) {
                                        let _ = out.send(Out::Text(msg)).await;
                                    }
                                    break (close::FORBIDDEN, format!("Forbidden: {reason}"));
                                }
                            }
                        }
                        ClientMessage::Ping(payload) => {
                            let _ = out.send(Out::Text(self.protocol.pong(payload))).await;
                        }
                        ClientMessage::Pong => {}
                        ClientMessage::Terminate => break (close::NORMAL, String::new()),
                        ClientMessage::Complete { id } => {
                            if let Some(task) = self.subscriptions.remove(&id) {
                                task.abort();
                                // The legacy protocol confirms a stop; graphql-transport-ws
                                // sends nothing after the client's own complete.
                                if self.protocol == Protocol::Legacy {
                                    let _ = out.send(Out::Text(self.protocol.complete(&id))).await;
                                }
                            }
                        }
                        ClientMessage::Subscribe { id, request } => {
                            let Some(principal) = self.principal.clone() else {
                                break (close::UNAUTHORIZED, "Unauthorized".into());
                            };
                            if self.subscriptions.get(&id).is_some_and(|t| !t.is_finished()) {
                                break (close::DUPLICATE_ID, format!("Subscriber for {id} already exists"));
                            }
                            let max = live.settings().max_per_connection;
                            if self.subscriptions.len() >= max {
                                let err = error_list(&crate::Error::RateLimited(format!("at most {max} subscriptions per connection")));
                                let _ = out.send(Out::Text(self.protocol.error(&id, err))).await;
                                continue;
                            }
                            let caller = Caller { principal, client: self.client };
                            let span = tracing::info_span!(
                                "subscription",
                                id = %id,
                                operation = tracing::field::Empty,
                                role = tracing::field::Empty,
                                sub = tracing::field::Empty,
                            );
                            let task = tokio::spawn(tracing::Instrument::instrument(subscription(
                                live.clone(), self.protocol, caller, id.clone(), *request, out.clone(), ctl.clone(),
                            ), span));
                            self.subscriptions.insert(id, task);
                        }
                    }
                }
            }
        };
        for (_, task) in self.subscriptions.drain() {
            task.abort();
        }
        // A client that stopped reading may never take the close frame: the socket is dropped
        // after a short wait either way.
        let gone_by = Instant::now() + self.state.live_config.close_wait();
        let close = out.send(Out::Close(closing.0, closing.1));
        let _ = tokio::time::timeout_at(gone_by, close).await;
        drop(out);
        let mut writer = writer;
        if tokio::time::timeout_at(gone_by, &mut writer).await.is_err() {
            writer.abort();
        }
    }

    /// The principal of an init payload and when its token expires.
    async fn authenticate(
        &self,
        payload: Option<&Value>,
    ) -> Result<(Principal, Option<chrono::DateTime<chrono::Utc>>), String> {
        let auth = &self.state.auth;
        match token_of(payload).map_err(str::to_owned)? {
            Some(token) => {
                let (principal, expires) =
                    auth.verify_session(&token).await.map_err(|e| e.to_string())?;
                crate::auth::policy::check_required_claims(&principal)
                    .map_err(|claim| format!("the token lacks `{claim}`"))?;
                Ok((principal, expires))
            }
            None if auth.allows_anonymous() => Ok((Principal::public(), None)),
            None => Err("a token is required".into()),
        }
    }
}

/// Resolves when the session's subject is revoked (never before an init).
async fn revoked(session: &mut Option<SessionGuard>) {
    match session {
        Some(guard) => {
            let _ = guard.revoked.wait_for(|r| *r).await;
        }
        None => std::future::pending::<()>().await,
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// A GraphQL error list for `err`.
fn error_list(err: &crate::Error) -> Value {
    json!([{ "message": err.to_string(), "extensions": { "code": err.code() } }])
}

/// Runs one subscription (or a one-shot operation) of a session until it ends.
async fn subscription(
    live: Hub,
    protocol: Protocol,
    caller: Caller,
    id: String,
    request: async_graphql::Request,
    out: mpsc::Sender<Out>,
    ctl: mpsc::Sender<Ctl>,
) {
    let Caller { principal, client } = caller;
    let send = |text: String| out.send(Out::Text(text));
    // Boxed: checking and probing a subscription is a large future, and a task keeps the
    // allocation of its largest state for as long as it lives (here: the whole subscription).
    match Box::pin(live.pipeline().subscribe(&principal, client, request)).await {
        // Refused before it ran (or it could not finish): `error`, and the id is free again.
        Subscribed::Answer(Answer::Fresh(resp, outcome)) if outcome != Outcome::Executed => {
            let errors = serde_json::to_value(&resp.errors).unwrap_or(Value::Null);
            let _ = send(protocol.error(&id, errors)).await;
        }
        // A query or mutation: its one result, then `complete`.
        Subscribed::Answer(answer) => {
            let payload = match answer {
                Answer::Cached(bytes) => String::from_utf8(bytes.into()).unwrap_or_default(),
                Answer::Fresh(resp, _) => serde_json::to_string(&*resp).unwrap_or_default(),
            };
            let _ = send(protocol.next(&id, &payload)).await;
            let _ = send(protocol.complete(&id)).await;
        }
        Subscribed::Stream(accepted) => match live.join(&principal, *accepted) {
            Err(err) => {
                let _ = send(protocol.error(&id, error_list(&err))).await;
            }
            Ok(membership) => {
                if let Err((code, reason)) = pump(&live, protocol, &id, membership, &out).await {
                    let _ = ctl.send(Ctl::Close(code, reason)).await;
                    return;
                }
                let _ = send(protocol.complete(&id)).await;
            }
        },
    }
    let _ = ctl.send(Ctl::Done(id)).await;
}

/// Sends a member's deliveries until its stream ends; `Err` closes the socket.
async fn pump(
    live: &Hub,
    protocol: Protocol,
    id: &str,
    mut membership: Membership,
    out: &mpsc::Sender<Out>,
) -> Result<(), (u16, String)> {
    let id: Arc<str> = Arc::from(id);
    let send = |payload: Arc<str>| out.send(Out::Next(protocol, id.clone(), payload));
    let gone = || (close::NORMAL, String::new());
    match membership.take_stream() {
        MemberStream::Kpis(mut rx) => {
            let first = Box::pin(live.kpis_now(&membership)).await;
            // What was current when the first set was taken counts as seen.
            rx.borrow_and_update();
            if let Some(first) = first {
                send(first).await.map_err(|_| gone())?;
            }
            while rx.changed().await.is_ok() {
                let latest = rx.borrow_and_update().clone();
                if let Some(payload) = latest {
                    send(payload).await.map_err(|_| gone())?;
                }
            }
            Ok(())
        }
        MemberStream::Closed => Ok(()),
        MemberStream::Events { mut rx, after } => {
            let mut last = after;
            if let Some(mut from) = after {
                // Every event since the cursor, page by page, before the live ones (which
                // queue meanwhile and are skipped up to the last one replayed).
                loop {
                    let (items, scanned) =
                        Box::pin(live.replay(&membership, from)).await.map_err(|e| {
                            (close::SLOW_CONSUMER, format!("replay failed: {}", e.code()))
                        })?;
                    for Item { position, payload } in items {
                        send(payload).await.map_err(|_| gone())?;
                        last = position.max(last);
                    }
                    match scanned {
                        Some(p) => from = p,
                        None => break,
                    }
                }
            }
            while let Some(Item { position, payload }) = rx.recv().await {
                if position.is_some() && position <= last {
                    continue;
                }
                send(payload).await.map_err(|_| gone())?;
                last = position;
            }
            // The hub dropped this member: it fell too far behind.
            Err((close::SLOW_CONSUMER, "Too slow: resume from your last cursor".into()))
        }
    }
}
