//! `ingestComplaints`: a batch of up to 1,000 complaints from a source, each reported back as
//! created, duplicate or rejected.
use super::complaint::Complaint;
use super::enums::{Category, Source};
use super::prefetch;
use super::{ctx_db, request, snapshot};
use crate::error::GqlResult;
use crate::service::ingest::{self, Outcome, Submission};
use crate::store::{self, complaints::Columns, scope::Scoped};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The citizen, as the source knows them.
#[derive(InputObject, Default)]
pub struct AuthorInput {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Link to a social-network profile.
    pub profile_url: Option<String>,
}

/// One complaint delivered by a source; (source, externalId) identifies it.
#[derive(InputObject)]
pub struct IngestComplaintInput {
    /// Channel.
    pub source: Source,
    /// Id in the source system.
    pub external_id: String,
    /// The citizen's text (1 byte to under 100 KB).
    pub text: String,
    /// Municipality concerned.
    pub municipality_id: ID,
    /// Category; classified from the text when absent.
    pub category: Option<Category>,
    /// When the source received it (default: now; not in the future).
    pub received_at: Option<DateTime<Utc>>,
    /// The citizen.
    pub author: Option<AuthorInput>,
    /// Address.
    pub address: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

impl IngestComplaintInput {
    fn into_submission(self) -> std::result::Result<Submission, String> {
        let municipality_id = self.municipality_id.parse::<i32>().map_err(|_| {
            format!("municipalityId is not a valid id: {:?}", self.municipality_id.as_str())
        })?;
        let a = self.author.unwrap_or_default();
        Ok(Submission {
            source: self.source.into(),
            external_id: self.external_id,
            text: self.text,
            municipality_id,
            category: self.category.map(Into::into),
            received_at: self.received_at,
            author: ingest::Author {
                name: a.name,
                phone: a.phone,
                email: a.email,
                profile_url: a.profile_url,
            },
            address: self.address,
            lat: self.lat,
            lon: self.lon,
        })
    }
}

/// What became of one delivered complaint.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IngestStatus {
    /// Registered now.
    Created,
    /// Delivered before; the existing complaint, nothing written.
    Duplicate,
    /// Refused (see `reason`); nothing written.
    Rejected,
}

/// The result of one item, in input order.
#[derive(SimpleObject)]
pub struct IngestItemResult {
    /// Created, duplicate or rejected.
    pub status: IngestStatus,
    /// The item's external id, as sent.
    pub external_id: String,
    /// The complaint's id (created or existing).
    pub complaint_id: Option<ID>,
    /// The complaint's number (created or existing).
    pub number: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The complaint, when the caller may read it.
    pub complaint: Option<Complaint>,
}

/// The result of a batch.
#[derive(SimpleObject)]
pub struct IngestResult {
    /// One result per input item, in order.
    pub items: Vec<IngestItemResult>,
    /// Items registered now.
    pub created: i32,
    /// Items that were already registered.
    pub duplicates: i32,
    /// Items refused.
    pub rejected: i32,
}

/// Root field `ingestComplaints`.
#[derive(Default)]
pub struct IngestMutation;

#[Object]
impl IngestMutation {
    /// Registers up to 1,000 complaints; re-deliveries return the existing complaint and write
    /// nothing; one bad item does not fail the others.
    #[graphql(visible = "super::visibility::ingest")]
    async fn ingest_complaints(
        &self,
        ctx: &Context<'_>,
        input: Vec<IngestComplaintInput>,
    ) -> Result<IngestResult> {
        let req = request(ctx);
        let external: Vec<String> = input.iter().map(|i| i.external_id.clone()).collect();
        let items = input.into_iter().map(IngestComplaintInput::into_submission).collect();
        let db = ctx_db(ctx);
        let notifier = ctx.data_unchecked::<crate::service::Notifier>();
        let outcomes = ingest::submit(db, notifier, &req.principal, items, req.now).await.gql()?;

        // The complaints the caller may read, read back from the primary with what the
        // selection asks for — and only when it asks for them: a connector's delivery or a
        // count of what was created needs no read after the write.
        let asks = ctx.look_ahead().field("items").field("complaint").exists();
        let ids: Vec<i64> =
            if asks { outcomes.iter().filter_map(Outcome::id).collect() } else { Vec::new() };
        let scoped = Scoped::of(&req.principal);
        let rows = store::complaints::get_many(db.write(), scoped, &ids).await.gql()?;
        let wants = prefetch::selected(ctx, &["items", "complaint"]);
        let directory = snapshot(ctx).await?;
        let row_ids: Vec<i64> = rows.keys().copied().collect();
        let related = prefetch::load(
            db.write(),
            &req.principal,
            &row_ids,
            wants,
            None,
            Columns::ALL,
            directory,
        )
        .await
        .gql()?;
        let related = Arc::new(related);

        let mut result = IngestResult {
            items: Vec::with_capacity(external.len()),
            created: 0,
            duplicates: 0,
            rejected: 0,
        };
        for (outcome, external_id) in outcomes.into_iter().zip(external) {
            let (status, id, number, reason) = match outcome {
                Outcome::Created { id, number } => {
                    (IngestStatus::Created, Some(id), Some(number), None)
                }
                Outcome::Duplicate { id, number } => {
                    (IngestStatus::Duplicate, Some(id), Some(number), None)
                }
                Outcome::Rejected(reason) => (IngestStatus::Rejected, None, None, Some(reason)),
            };
            match status {
                IngestStatus::Created => result.created += 1,
                IngestStatus::Duplicate => result.duplicates += 1,
                IngestStatus::Rejected => result.rejected += 1,
            }
            let complaint = id
                .and_then(|id| rows.get(&id))
                .map(|row| Complaint::new(row.clone(), related.clone()));
            result.items.push(IngestItemResult {
                status,
                external_id,
                complaint_id: id.map(|id| ID(id.to_string())),
                number,
                reason,
                complaint,
            });
        }
        Ok(result)
    }
}
