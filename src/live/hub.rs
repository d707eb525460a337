//! The hub: groups, members, the outbox reader and the KPI refresher of one replica.
use super::Settings;
use crate::{
    Error, Result,
    auth::{Principal, Role},
    events::{Bus, Signal},
    graphql::subscription::{Delivery, EventRow, Wanted},
    pipeline::{Accepted, Pipeline},
    store::{
        Db,
        events::{self, Position},
        scope::Scoped,
    },
};
use async_graphql::Response;
use chrono::Utc;
use entity::complaint_event;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};

/// Events read from the outbox per statement.
const BATCH: u64 = 500;

/// One delivery to a member: where it stands and the serialized answer (`{"data": …}`).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The event's position (`None` for KPI row sets).
    pub(crate) position: Option<Position>,
    /// The answer, serialized once for the whole group.
    pub(crate) payload: Arc<str>,
}

/// What makes two subscriptions the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    role: Role,
    department: Option<i32>,
    municipality: Option<i32>,
    query: String,
    operation: Option<String>,
    variables: String,
}

impl GroupKey {
    fn of(principal: &Principal, accepted: &Accepted) -> Self {
        // The resume cursor changes nothing in the answers: a variable holding it is left out,
        // so subscribers resuming from different cursors share a group.
        let after = match &accepted.wanted {
            Wanted::Events { after: Some(p), .. } => Some(p.encode()),
            _ => None,
        };
        let mut variables = accepted.variables.clone();
        if let Some(after) = after {
            variables.retain(|_, v| !matches!(v, async_graphql::Value::String(s) if *s == after));
        }
        GroupKey {
            role: principal.role,
            department: principal.department_id,
            municipality: principal.municipality_id,
            query: accepted.query.clone(),
            operation: accepted.operation_name.clone(),
            variables: serde_json::to_string(&variables).unwrap_or_default(),
        }
    }
}

struct Member {
    id: u64,
    principal: Principal,
    events: Option<mpsc::Sender<Item>>,
}

struct Group {
    /// The first member's principal: answers depend only on the key's parts.
    principal: Principal,
    accepted: Accepted,
    scoped: Scoped,
    members: Mutex<Vec<Member>>,
    /// The latest KPI row set (KPI groups).
    kpis: watch::Sender<Option<Arc<str>>>,
}

/// An open session's id and its revocation switch.
type Switch = (u64, watch::Sender<bool>);

struct Inner {
    pipeline: Arc<Pipeline>,
    db: Db,
    bus: Bus,
    settings: Settings,
    groups: Mutex<HashMap<GroupKey, Arc<Group>>>,
    /// Revocation switches of open sessions, by subject.
    sessions: Mutex<HashMap<String, Vec<Switch>>>,
    /// Subscriptions per subject.
    per_subject: Mutex<HashMap<String, usize>>,
    connections: Arc<Semaphore>,
    next: AtomicU64,
}

/// The live subscriptions of this replica.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<Inner>,
}

/// A subscription's place in its group; leaving the group when dropped.
pub(crate) struct Membership {
    hub: Hub,
    key: GroupKey,
    group: Arc<Group>,
    id: u64,
    sub: String,
    stream: Option<MemberStream>,
}

impl Membership {
    /// What the member receives (once).
    pub(crate) fn take_stream(&mut self) -> MemberStream {
        self.stream.take().unwrap_or(MemberStream::Closed)
    }
}

/// What a member receives.
pub(crate) enum MemberStream {
    /// Complaint events, after replaying from `after` when given.
    Events { rx: mpsc::Receiver<Item>, after: Option<Position> },
    /// KPI row sets, the latest only.
    Kpis(watch::Receiver<Option<Arc<str>>>),
    /// Taken already.
    Closed,
}

/// An open session's revocation switch; unregisters when dropped.
pub(crate) struct SessionGuard {
    hub: Hub,
    sub: String,
    id: u64,
    /// Turns true when the subject's sessions are revoked.
    pub(crate) revoked: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let mut sessions = lock(&self.hub.inner.sessions);
        if let Some(list) = sessions.get_mut(&self.sub) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                sessions.remove(&self.sub);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A hub over `pipeline`, reading the outbox of `db` on `bus` signals.
    pub(crate) fn new(pipeline: Arc<Pipeline>, db: Db, bus: Bus, settings: Settings) -> Self {
        Hub {
            inner: Arc::new(Inner {
                pipeline,
                db,
                bus,
                settings,
                groups: Mutex::default(),
                sessions: Mutex::default(),
                per_subject: Mutex::default(),
                connections: Arc::new(Semaphore::new(settings.max_connections)),
                next: AtomicU64::new(1),
            }),
        }
    }

    /// The limits and intervals.
    pub(crate) fn settings(&self) -> Settings {
        self.inner.settings
    }

    /// The pipeline subscriptions go through.
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// A place for one more WebSocket, if the instance has one.
    /// Open WebSockets and live subscriptions on this replica.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let sockets =
            self.inner.settings.max_connections - self.inner.connections.available_permits();
        let members = self.groups().iter().map(|g| lock(&g.members).len()).sum();
        (sockets, members)
    }

    pub(crate) fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.connections.clone().try_acquire_owned().ok()
    }

    /// Registers an authenticated session of `sub` (holding its connection `permit`).
    pub(crate) fn session(&self, sub: &str, permit: OwnedSemaphorePermit) -> SessionGuard {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (tx, revoked) = watch::channel(false);
        lock(&self.inner.sessions).entry(sub.to_owned()).or_default().push((id, tx));
        SessionGuard { hub: self.clone(), sub: sub.to_owned(), id, revoked, _permit: permit }
    }

    /// Joins `principal`'s accepted subscription to its group; FORBIDDEN-free errors only:
    /// RATE_LIMITED when the subject holds too many subscriptions here.
    pub(crate) fn join(&self, principal: &Principal, accepted: Accepted) -> Result<Membership> {
        {
            let mut counts = lock(&self.inner.per_subject);
            let n = counts.entry(principal.sub.clone()).or_default();
            if *n >= self.inner.settings.max_per_subject {
                let max = self.inner.settings.max_per_subject;
                return Err(Error::RateLimited(format!(
                    "at most {max} subscriptions per subject on one instance"
                )));
            }
            *n += 1;
        }
        let key = GroupKey::of(principal, &accepted);
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let after = match &accepted.wanted {
            Wanted::Events { after, .. } => Some(*after),
            Wanted::Kpis => None,
        };
        // The member joins while the group map is held: a last member leaving at the same
        // moment could otherwise remove the group this one is joining.
        let mut groups = lock(&self.inner.groups);
        let group = groups
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Group {
                    principal: principal.clone(),
                    scoped: Scoped::of(principal),
                    accepted,
                    members: Mutex::default(),
                    kpis: watch::channel(None).0,
                })
            })
            .clone();
        let (events, stream) = match after {
            Some(after) => {
                let (tx, rx) = mpsc::channel(self.inner.settings.queue);
                (Some(tx), MemberStream::Events { rx, after })
            }
            None => (None, MemberStream::Kpis(group.kpis.subscribe())),
        };
        lock(&group.members).push(Member { id, principal: principal.clone(), events });
        drop(groups);
        let sub = principal.sub.clone();
        Ok(Membership { hub: self.clone(), key, group, id, sub, stream: Some(stream) })
    }

    /// Runs the group's document for `delivery` and serializes the answer; audits the author
    /// reads of every member in `readers` first (an answer whose audit failed is withheld).
    async fn payload(
        &self,
        group: &Group,
        delivery: Delivery,
        readers: &[Principal],
    ) -> Option<Arc<str>> {
        let pipeline = &self.inner.pipeline;
        let (resp, reads): (Response, Vec<i64>) =
            pipeline.deliver(&group.principal, &group.accepted, delivery).await;
        let now = Utc::now();
        for reader in readers {
            if let Err(err) = pipeline.audit(reader, &group.accepted, &reads, now).await {
                tracing::error!(%err, "audit write failed; event withheld");
                return None;
            }
        }
        serde_json::to_string(&resp).ok().map(Arc::from)
    }

    /// The events of `membership`'s group in scope and matching after `after`, up to a page,
    /// with their answers (a resuming client's replay), and the last position the page read
    /// (`None`: nothing more to read).
    pub(crate) async fn replay(
        &self,
        membership: &Membership,
        after: Position,
    ) -> Result<(Vec<Item>, Option<Position>)> {
        let group = &membership.group;
        let Wanted::Events { filter, .. } = &group.accepted.wanted else {
            return Ok((Vec::new(), None));
        };
        let reader = lock(&group.members)
            .iter()
            .find(|m| m.id == membership.id)
            .map(|m| m.principal.clone());
        let Some(reader) = reader else { return Ok((Vec::new(), None)) };
        let rows = events::after(self.inner.db.write(), group.scoped, after, BATCH).await?;
        let scanned = rows.last().map(Position::of);
        let mut items = Vec::with_capacity(rows.len());
        let now = Utc::now();
        for event in rows {
            let position = Position::of(&event);
            let Some(complaint) = events::snapshot(&event) else { continue };
            if !filter.matches(&complaint, now) {
                continue;
            }
            let row = Arc::new(EventRow { event, complaint });
            let readers = std::slice::from_ref(&reader);
            match self.payload(group, Delivery::Event(row), readers).await {
                Some(payload) => items.push(Item { position: Some(position), payload }),
                None => return Err(Error::Unavailable("the audit trail cannot be written".into())),
            }
        }
        Ok((items, scanned))
    }

    /// The KPI row set of `membership`'s group now: the group's latest, or computed.
    pub(crate) async fn kpis_now(&self, membership: &Membership) -> Option<Arc<str>> {
        let group = &membership.group;
        if let Some(latest) = group.kpis.borrow().clone() {
            return Some(latest);
        }
        let payload = self.payload(group, Delivery::Kpis, &[]).await?;
        group.kpis.send_replace(Some(payload.clone()));
        Some(payload)
    }

    fn leave(&self, key: &GroupKey, id: u64, sub: &str) {
        let mut groups = lock(&self.inner.groups);
        if let Some(group) = groups.get(key) {
            let mut members = lock(&group.members);
            members.retain(|m| m.id != id);
            let empty = members.is_empty();
            drop(members);
            if empty {
                groups.remove(key);
            }
        }
        drop(groups);
        let mut counts = lock(&self.inner.per_subject);
        if let Some(n) = counts.get_mut(sub) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(sub);
            }
        }
    }

    /// Closes every session of `sub` on this replica.
    fn revoke(&self, sub: &str) {
        if let Some(list) = lock(&self.inner.sessions).get(sub) {
            for (_, switch) in list {
                let _ = switch.send(true);
            }
        }
    }

    fn groups(&self) -> Vec<Arc<Group>> {
        lock(&self.inner.groups).values().cloned().collect()
    }

    /// Hands one outbox event to every group it concerns.
    async fn fan_out(&self, event: complaint_event::Model) {
        let Some(complaint) = events::snapshot(&event) else { return };
        let position = Position::of(&event);
        let now = Utc::now();
        let row = Arc::new(EventRow { event, complaint });
        let concerned: Vec<Arc<Group>> = self
            .groups()
            .into_iter()
            .filter(|g| match &g.accepted.wanted {
                Wanted::Events { filter, .. } => {
                    g.scoped.admits(&row.event) && filter.matches(&row.complaint, now)
                }
                Wanted::Kpis => false,
            })
            .collect();
        let deliveries = concerned.iter().map(|group| {
            let row = row.clone();
            async move {
                let readers: Vec<Principal> =
                    lock(&group.members).iter().map(|m| m.principal.clone()).collect();
                let Some(payload) = self.payload(group, Delivery::Event(row), &readers).await
                else {
                    return;
                };
                let item = Item { position: Some(position), payload };
                // A full queue drops its member: the session closes with 1013 and the client
                // resumes from its cursor.
                let (mut delivered, mut dropped) = (0, 0);
                lock(&group.members).retain_mut(|m| match &m.events {
                    Some(tx) => {
                        let queued = tx.try_send(item.clone()).is_ok();
                        if queued {
                            delivered += 1
                        } else {
                            dropped += 1
                        }
                        queued
                    }
                    None => true,
                });
                self.inner.pipeline.metrics.deliveries(delivered, dropped);
            }
        });
        futures_util::future::join_all(deliveries).await;
    }

    /// Recomputes every KPI group's row set, sending it where it changed.
    async fn refresh_kpis(&self) {
        let groups: Vec<Arc<Group>> = self
            .groups()
            .into_iter()
            .filter(|g| matches!(g.accepted.wanted, Wanted::Kpis))
            .collect();
        let refreshes = groups.iter().map(|group| async move {
            if let Some(payload) = self.payload(group, Delivery::Kpis, &[]).await {
                group.kpis.send_if_modified(|latest| {
                    let changed = latest.as_deref() != Some(&*payload);
                    if changed {
                        *latest = Some(payload);
                    }
                    changed
                });
            }
        });
        futures_util::future::join_all(refreshes).await;
    }

    /// Reads the outbox and serves signals until the process ends.
    pub(crate) async fn run(self) {
        let settings = self.inner.settings;
        let mut signals: broadcast::Receiver<Signal> = self.inner.bus.subscribe();
        let mut position = loop {
            match events::tip(self.inner.db.write()).await {
                Ok(p) => break p,
                Err(err) => {
                    tracing::warn!(%err, "live hub: outbox unreadable; retrying");
                    tokio::time::sleep(settings.poll).await;
                }
            }
        };
        let mut poll = tokio::time::interval(settings.poll);
        let mut kpis = tokio::time::interval(settings.kpi_interval);
        let mut prune = tokio::time::interval(std::time::Duration::from_secs(3600));
        let mut changed = false;
        loop {
            let read = tokio::select! {
                signal = signals.recv() => match signal {
                    Ok(Signal::Revoked { sub }) => { self.revoke(&sub); false }
                    Ok(Signal::Connectors) => false,
                    Ok(Signal::Events) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = poll.tick() => true,
                _ = kpis.tick() => {
                    if std::mem::take(&mut changed) {
                        self.refresh_kpis().await;
                    }
                    false
                }
                _ = prune.tick() => {
                    self.prune().await;
                    false
                }
            };
            // Paused while the database is down; the first read after it resumes from here.
            if read && !self.inner.pipeline.db.health().is_down() {
                match self.read_from(position).await {
                    Ok((p, n)) => {
                        position = p;
                        changed |= n > 0;
                    }
                    Err(err) => tracing::warn!(%err, "live hub: outbox read failed"),
                }
            }
        }
    }

    /// Fans out every settled event after `position`: the new position and how many.
    async fn read_from(&self, mut position: Position) -> Result<(Position, usize)> {
        let mut n = 0;
        loop {
            let batch =
                events::after(self.inner.db.write(), Scoped::system(), position, BATCH).await?;
            let full = batch.len() as u64 == BATCH;
            for event in batch {
                position = Position::of(&event);
                n += 1;
                self.fan_out(event).await;
                // Let the sockets take what was queued before the next event: a burst should
                // not fill a reader's queue only because its task had no turn yet.
                tokio::task::yield_now().await;
            }
            if !full {
                return Ok((position, n));
            }
        }
    }

    async fn prune(&self) {
        let keep = chrono::Duration::from_std(self.inner.settings.retention)
            .unwrap_or(chrono::Duration::days(7));
        match events::prune(&self.inner.db, Utc::now() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "outbox pruned"),
            Err(err) => tracing::warn!(%err, "outbox prune failed"),
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(&self.key, self.id, &self.sub);
    }
}
