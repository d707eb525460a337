//! The ingestion pipeline shared by GraphQL, Open311 and the CSV import: check each item,
//! classify it when the source gave no category, route it by the rules, compute its
//! deadlines, and write the batch idempotently. One bad item is reported and skipped; the
//! good ones go in.
use super::{Changed, Notifier, committed};
use crate::{
    Error, Result,
    auth::{
        Principal,
        policy::{self, Action},
    },
    cache::Topic,
    domain::{classify::classify, routing::route, sla},
    store::{
        Db, connectors,
        ingest::{self, Written},
    },
};
use chrono::{DateTime, Duration, Utc};
use entity::{Category, ComplaintStatus, Priority, Source, complaint};
use std::collections::HashMap;

/// Most items in one batch.
pub const MAX_BATCH: usize = 1_000;
/// Texts of this size or more are refused.
pub const MAX_TEXT_BYTES: usize = 100 * 1024;
/// Clock skew tolerated on `received_at` from the source.
const FUTURE_SKEW: Duration = Duration::minutes(5);
/// Longest external id.
const MAX_EXTERNAL_ID: usize = 200;
/// Longest author field or address.
const MAX_FIELD: usize = 1_000;

/// The citizen, as the source knows them.
#[derive(Debug, Clone, Default)]
pub struct Author {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Profile link.
    pub profile_url: Option<String>,
}

/// One complaint delivered by a source.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Channel.
    pub source: Source,
    /// Id in the source system (with `source`, the identity of the complaint).
    pub external_id: String,
    /// The citizen's text.
    pub text: String,
    /// Municipality concerned.
    pub municipality_id: i32,
    /// Category, when the source classified it.
    pub category: Option<Category>,
    /// When the source received it (default: now).
    pub received_at: Option<DateTime<Utc>>,
    /// The citizen.
    pub author: Author,
    /// Address.
    pub address: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// The result of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Registered now.
    Created {
        /// Id.
        id: i64,
        /// Number.
        number: String,
    },
    /// Delivered before: the existing complaint, nothing written.
    Duplicate {
        /// Id.
        id: i64,
        /// Number.
        number: String,
    },
    /// Refused, with the reason.
    Rejected(String),
}

impl Outcome {
    /// The complaint id, unless rejected.
    pub fn id(&self) -> Option<i64> {
        match self {
            Outcome::Created { id, .. } | Outcome::Duplicate { id, .. } => Some(*id),
            Outcome::Rejected(_) => None,
        }
    }
}

/// Why an item is refused, if it is.
fn check(s: &Submission, ctx: &ingest::Context, now: DateTime<Utc>) -> Option<String> {
    let external = s.external_id.trim();
    if external.is_empty() || external.len() > MAX_EXTERNAL_ID {
        return Some(format!("externalId must be 1 to {MAX_EXTERNAL_ID} characters"));
    }
    if s.text.trim().is_empty() {
        return Some("text is empty".into());
    }
    if s.text.len() >= MAX_TEXT_BYTES {
        return Some(format!(
            "text is {} bytes; the limit is under {MAX_TEXT_BYTES}",
            s.text.len()
        ));
    }
    if !ctx.municipalities.contains(&s.municipality_id) {
        return Some(format!("unknown municipality {}", s.municipality_id));
    }
    if s.received_at.is_some_and(|at| at > now + FUTURE_SKEW) {
        return Some("receivedAt is in the future".into());
    }
    if s.lat.is_some_and(|v| !(-90.0..=90.0).contains(&v))
        || s.lon.is_some_and(|v| !(-180.0..=180.0).contains(&v))
    {
        return Some("lat/lon out of range".into());
    }
    let a = &s.author;
    let long = [&a.name, &a.phone, &a.email, &a.profile_url, &s.address]
        .into_iter()
        .flatten()
        .any(|v| v.len() > MAX_FIELD);
    if long {
        return Some(format!(
            "author fields and the address are limited to {MAX_FIELD} characters"
        ));
    }
    None
}

/// A new complaint row: classified, routed, with deadlines.
fn prepare(s: Submission, ctx: &ingest::Context, now: DateTime<Utc>) -> complaint::Model {
    let category = s.category.unwrap_or_else(|| classify(&s.text));
    let department = route(&ctx.rules, category, s.municipality_id);
    let received_at = s.received_at.unwrap_or(now);
    let priority = Priority::Normal;
    let policy = sla::policy_for(&ctx.policies, s.source, priority);
    let blank = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    complaint::Model {
        id: 0,
        number: String::new(),
        source: s.source,
        external_id: s.external_id.trim().to_owned(),
        category,
        municipality_id: s.municipality_id,
        text: s.text.trim().to_owned(),
        address: blank(s.address),
        lat: s.lat,
        lon: s.lon,
        author_name: blank(s.author.name),
        author_phone: blank(s.author.phone),
        author_email: blank(s.author.email),
        author_profile_url: blank(s.author.profile_url),
        received_at,
        status: if department.is_some() { ComplaintStatus::Assigned } else { ComplaintStatus::New },
        priority,
        department_id: department,
        assignee_id: None,
        first_response_due_at: ctx.calendar.due_at(received_at, policy.first_response),
        resolution_due_at: ctx.calendar.due_at(received_at, policy.resolution),
        first_response_at: None,
        resolved_at: None,
        // Social-network incidents are public (the answer is posted in the network), and so
        // are Open311 requests (GeoReport is a public interface by design).
        is_public: matches!(s.source, Source::Vk | Source::Telegram | Source::Ok | Source::Open311),
        version: 1,
        updated_at: now,
    }
}

/// Ingests a batch delivered by `principal`, whom the roles matrix must let ingest: each item
/// is a submission or why its input could not be read (reported as rejected). One outcome per
/// item comes back, in order.
pub async fn submit(
    db: &Db,
    notifier: &Notifier,
    principal: &Principal,
    items: Vec<std::result::Result<Submission, String>>,
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>> {
    if !policy::may(principal, Action::Ingest) {
        let role = principal.role.as_str();
        return Err(Error::Forbidden(format!("role `{role}` may not ingest")));
    }
    if items.is_empty() || items.len() > MAX_BATCH {
        let msg = format!("send 1 to {MAX_BATCH} complaints, not {}", items.len());
        return Err(Error::bad_input(msg));
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    let mut positions = Vec::with_capacity(items.len());
    let mut readable = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(s) => {
                positions.push(i);
                readable.push(s);
            }
            Err(reason) => outcomes[i] = Some(Outcome::Rejected(reason)),
        }
    }
    let written = run(db, notifier, &principal.actor(), readable, now).await?;
    for (i, outcome) in positions.into_iter().zip(written) {
        outcomes[i] = Some(outcome);
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Rejected("not processed".into())))
        .collect())
}

/// Ingests a batch for `actor` (who the registration is recorded as). Items come back in
/// order, each created, duplicate or rejected.
pub async fn run(
    db: &Db,
    notifier: &Notifier,
    actor: &str,
    items: Vec<Submission>,
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>> {
    run_step(db, notifier, actor, items, now, None).await
}

/// [`run`] for a connector: its `step` (checkpoint, counts, lease) commits with the rows, or
/// nothing does. The step's tally gains this batch's rejections and in-batch repeats.
pub async fn run_step(
    db: &Db,
    notifier: &Notifier,
    actor: &str,
    items: Vec<Submission>,
    now: DateTime<Utc>,
    mut step: Option<connectors::Advance>,
) -> Result<Vec<Outcome>> {
    if items.len() > MAX_BATCH {
        return Err(crate::Error::bad_input(format!(
            "a batch holds at most {MAX_BATCH} complaints, this one {}",
            items.len()
        )));
    }
    let ctx = db.ingest_context(notifier.cache.generation(Topic::Routing).await).await?;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    let mut rows = Vec::new();
    let mut positions = Vec::new();
    // A repeat inside the batch is a duplicate of its first occurrence.
    let mut first_of: HashMap<(Source, String), usize> = HashMap::new();
    let mut repeats = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(reason) = check(&item, &ctx, now) {
            outcomes[i] = Some(Outcome::Rejected(reason));
            continue;
        }
        let key = (item.source, item.external_id.trim().to_owned());
        if let Some(&first) = first_of.get(&key) {
            repeats.push((i, first));
            continue;
        }
        first_of.insert(key, i);
        positions.push(i);
        rows.push(prepare(item, &ctx, now));
    }
    if let Some(step) = &mut step {
        let rejected = outcomes.iter().filter(|o| o.is_some()).count();
        step.tally.rejected += rejected as i32;
        step.tally.duplicates += repeats.len() as i32;
    }
    let written = ingest::write(db, rows, actor, now, step.as_ref()).await?;
    if written.iter().any(|w| matches!(w, Written::Created { .. })) {
        committed(notifier, Changed::Complaints).await;
    }
    for (i, w) in positions.into_iter().zip(written) {
        outcomes[i] = Some(match w {
            Written::Created { id, number } => Outcome::Created { id, number },
            Written::Duplicate { id, number } => Outcome::Duplicate { id, number },
        });
    }
    for (i, first) in repeats {
        outcomes[i] = Some(match &outcomes[first] {
            Some(Outcome::Created { id, number } | Outcome::Duplicate { id, number }) => {
                Outcome::Duplicate { id: *id, number: number.clone() }
            }
            other => other.clone().unwrap_or(Outcome::Rejected("not processed".into())),
        });
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Rejected("not processed".into())))
        .collect())
}
