//! Sending answers back: every replica claims due deliveries from the outbox
//! (`store::deliveries`), sends each by its connector's kind, and records the outcome — a
//! JSON feed's webhook gets the answer as JSON signed with HMAC-SHA256 of the body
//! (`X-Cur-Signature-256: sha256=<hex>`, the secret from the environment variable the
//! connector names); an Open311 server that takes updates gets GeoReport's fields as a form.
//! Each carries `Idempotency-Key`: a replica that dies after sending and before recording
//! leaves its claim to run out, and the next send repeats the key. Refusals (4xx) end a
//! delivery; outages and 5xx are retried with the connectors' backoff.
use super::{
    config::{Connector, Connectors, Kind},
    fetch::{FetchError, SourceClient},
    run::{backoff, nap},
};
use crate::{
    events::Signal,
    state::Phase,
    store::{
        Db,
        deliveries::{self, Attempt},
    },
};
use chrono::Utc;
use entity::delivery;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Url;
use serde_json::Value;
use std::{collections::HashMap, time::Duration};
use tokio::sync::watch;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// Deliveries claimed at once.
const BATCH: u64 = 20;
/// How often the outbox is looked at without a wake-up.
const POLL: Duration = Duration::from_secs(1);

/// The signature header of a webhook delivery.
pub const SIGNATURE_HEADER: &str = "x-cur-signature-256";

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Why one attempt failed, and whether another could succeed.
struct Failure {
    error: String,
    retry: bool,
    retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(err: FetchError) -> Self {
        let (retry, retry_after) = match &err {
            // The source refused the answer itself: sending it again changes nothing.
            FetchError::Status { status, retry_after } => {
                (*status >= 500 || matches!(status, 408 | 425 | 429), *retry_after)
            }
            _ => (true, None),
        };
        Failure { error: err.to_string(), retry, retry_after }
    }
}

/// The sender of one replica.
pub(crate) struct Sender {
    db: Db,
    owner: String,
    connectors: HashMap<String, (Connector, SourceClient)>,
}

impl Sender {
    /// A sender for the connectors that take answers.
    pub(crate) fn new(db: Db, owner: &str, all: &Connectors) -> crate::Result<Option<Self>> {
        let mut connectors = HashMap::new();
        for c in all.0.iter().filter(|c| c.answers_back()) {
            let client = SourceClient::new(c)
                .map_err(|e| crate::Error::Startup(format!("connector `{}`: {e}", c.name)))?;
            connectors.insert(c.name.clone(), (c.clone(), client));
        }
        Ok((!connectors.is_empty()).then(|| Sender { db, owner: owner.to_owned(), connectors }))
    }

    /// Sends due deliveries until the gateway stops; woken early by committed changes.
    pub(crate) async fn run(
        self,
        mut signals: tokio::sync::broadcast::Receiver<Signal>,
        mut stop: watch::Receiver<Phase>,
    ) {
        loop {
            if !self.db.health().is_down() {
                match self.round().await {
                    // A full batch: there may be more at once.
                    Ok(n) if n as u64 == BATCH => continue,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "deliveries: a round failed"),
                }
            }
            // Committed changes may have written deliveries.
            if nap(POLL, &mut signals, &mut stop, |s| matches!(s, Signal::Events)).await {
                return;
            }
        }
    }

    /// How long a claim lasts: one send's time limit, twice, and some.
    fn claim_for(&self) -> chrono::Duration {
        let longest = self.connectors.values().map(|(c, _)| c.timeout).max().unwrap_or_default();
        chrono::Duration::from_std(longest * 2 + Duration::from_secs(10))
            .unwrap_or(chrono::Duration::minutes(1))
    }

    /// Claims and sends one batch; how many were claimed. Each delivery's claim is renewed
    /// just before it is sent: one whose claim ran out while those before it were being sent
    /// may be another replica's now, and is left to it.
    async fn round(&self) -> crate::Result<usize> {
        let now = Utc::now();
        let targets: Vec<String> = self.connectors.keys().cloned().collect();
        let until = now + self.claim_for();
        let claimed = deliveries::claim(&self.db, &self.owner, &targets, now, until, BATCH).await?;
        for d in &claimed {
            let now = Utc::now();
            if !deliveries::renew(&self.db, d.id, &self.owner, now, now + self.claim_for()).await? {
                continue;
            }
            let attempt = match self.send(d).await {
                Ok(()) => Attempt::Delivered,
                Err(f) => {
                    let attempts = d.attempts + 1;
                    let retry_at = (f.retry && attempts < MAX_ATTEMPTS).then(|| {
                        let wait = backoff(attempts, f.retry_after);
                        Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                    });
                    tracing::warn!(delivery = d.id, target = %d.target, attempts, error = %f.error,
                        retry = retry_at.is_some(), "deliveries: not delivered");
                    Attempt::Failed { error: f.error, retry_at }
                }
            };
            deliveries::record(&self.db, d.id, &self.owner, &attempt, Utc::now()).await?;
        }
        Ok(claimed.len())
    }

    async fn send(&self, d: &delivery::Model) -> Result<(), Failure> {
        let permanent = |error: String| Failure { error, retry: false, retry_after: None };
        let Some((connector, client)) = self.connectors.get(&d.target) else {
            let error = format!("connector `{}` no longer takes answers", d.target);
            return Err(permanent(error));
        };
        let key = ("idempotency-key", d.dedup_key.clone());
        match &connector.kind {
            Kind::JsonFeed(feed) => {
                let webhook =
                    feed.webhook.as_ref().ok_or_else(|| permanent("no webhook".into()))?;
                let secret = std::env::var(&webhook.secret_env).map_err(|_| {
                    permanent(format!("the webhook secret `{}` is not set", webhook.secret_env))
                })?;
                let body = d.body.as_bytes().to_vec();
                let signed = (SIGNATURE_HEADER, signature(secret.as_bytes(), &body));
                client.post(&webhook.url, "application/json", body, &[signed, key]).await?;
            }
            Kind::Open311(o) => {
                let template =
                    o.updates_url.as_deref().ok_or_else(|| permanent("no updates_url".into()))?;
                let answer: Value = serde_json::from_str(&d.body)
                    .map_err(|e| permanent(format!("unreadable delivery: {e}")))?;
                let text = |k: &str| answer[k].as_str().unwrap_or_default().to_owned();
                let id = text("externalId");
                let url = template.replace("{id}", &percent(&id));
                let url = Url::parse(&url).map_err(|e| permanent(format!("{url}: {e}")))?;
                let status =
                    if answer["open"].as_bool().unwrap_or(true) { "open" } else { "closed" };
                let form: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("service_request_id", &id)
                    .append_pair("status", status)
                    .append_pair("status_notes", &text("statusNotes"))
                    .append_pair("updated_datetime", &text("updatedAt"))
                    .finish();
                let form_type = "application/x-www-form-urlencoded";
                client.post(&url, form_type, form.into_bytes(), &[key]).await?;
            }
            Kind::CsvDrop(_) => return Err(permanent("a drop directory takes no answers".into())),
        }
        Ok(())
    }
}

/// `id` as one URL path segment.
fn percent(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Starts the sender of this replica, when any connector takes answers.
pub(crate) fn start(
    db: Db,
    owner: &str,
    connectors: &Connectors,
    signals: tokio::sync::broadcast::Receiver<Signal>,
    stop: watch::Receiver<Phase>,
) -> crate::Result<Option<tokio::task::JoinHandle<()>>> {
    Ok(Sender::new(db, owner, connectors)?.map(|sender| tokio::spawn(sender.run(signals, stop))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
