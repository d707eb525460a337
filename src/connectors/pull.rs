//! One run of a connector: its source read page by page from the checkpoint, each page's
//! items ingested with the checkpoint after it in one transaction (`Pass::commit`), until the
//! source has nothing newer, the run's page budget is spent, or something goes wrong. A run
//! that stops anywhere has lost at most the page it was reading.
use super::{
    check::requests_url,
    config::{Connector, CsvDrop, JsonFeed, Kind, Open311, Paging},
    fetch::{FetchError, SourceClient},
    items::{self, Item, Towns},
};
use crate::{
    service::{self, Notifier, ingest::Outcome},
    store::{
        Db,
        connectors::{self as state, Advance, ImportedFile, Tally},
    },
};
use chrono::{DateTime, Duration, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// `t` without its fraction of a second.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// Runs blocking file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RunError::Gateway(crate::Error::Internal(format!("file work failed: {e}"))))
}

/// The CSV files of `dir` not changed in the last moments, in name order.
fn settled_csv_files(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let settled = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= SETTLE);
        if csv && settled && path.is_file() {
            names.push(path);
        }
    }
    names.sort();
    Ok(names)
}

/// Widest Open311 window (GeoReport servers, ours included, refuse wider ones).
const MAX_WINDOW_SECS: i64 = 90 * 86_400;
/// A drop file changed this recently may still be being written: it waits for the next run.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Where a connector stands, as stored (one shape for every kind; each uses its fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// Open311: requests registered before this time are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Open311: the next window's width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<i64>,
    /// JSON feed by cursor: the cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// JSON feed by time: the newest item's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<DateTime<Utc>>,
    /// Drop directory: the file under way, its content hash and rows done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Its rows already ingested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_done: Option<usize>,
}

impl Checkpoint {
    /// The stored text's checkpoint; an unreadable one starts over (the ingest absorbs it).
    pub fn parse(text: Option<&str>) -> Self {
        text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source could not be read (its `Retry-After` is kept).
    #[error(transparent)]
    Source(#[from] FetchError),
    /// The source answered something the connector cannot page through.
    #[error("{0}")]
    Misbehaving(String),
    /// Another replica took the lease: this one stops without writing.
    #[error("the lease passed to another replica")]
    LeaseLost,
    /// The database (or another part of the gateway) failed.
    #[error("{0}")]
    Gateway(crate::Error),
}

impl From<crate::Error> for RunError {
    fn from(err: crate::Error) -> Self {
        match err {
            crate::Error::Conflict(_) => RunError::LeaseLost,
            other => RunError::Gateway(other),
        }
    }
}

/// One run's context and its running counts.
pub struct Pass<'a> {
    /// The gateway's database.
    pub db: &'a Db,
    /// Announces committed pages.
    pub notifier: &'a Notifier,
    /// The connector.
    pub connector: &'a Connector,
    /// Its HTTP client.
    pub client: &'a SourceClient,
    /// Municipality names.
    pub towns: &'a Towns,
    /// This replica, the lease's holder.
    pub owner: &'a str,
    /// How long each commit extends the lease.
    pub lease: std::time::Duration,
    /// What the run brought so far.
    pub tally: Tally,
    /// Pages read so far.
    pub pages: usize,
}

impl Pass<'_> {
    /// Ingests `items` and moves the checkpoint to `next` in one transaction (batches of
    /// the ingest's size: only the last carries the checkpoint, so an interrupted page is
    /// read again whole).
    async fn commit(
        &mut self,
        items: Vec<Item>,
        next: &Checkpoint,
        file: Option<ImportedFile>,
    ) -> Result<(), RunError> {
        let actor = format!("connector:{}", self.connector.name);
        let mut rejected = 0;
        let submissions: Vec<_> = items
            .into_iter()
            .filter_map(|i| {
                i.map_err(|why| {
                    rejected += 1;
                    tracing::debug!(connector = %self.connector.name, %why, "item rejected");
                })
                .ok()
            })
            .collect();
        let mut batches: Vec<Vec<_>> = Vec::new();
        let mut rest = submissions.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(service::ingest::MAX_BATCH).collect());
        }
        if batches.is_empty() {
            batches.push(Vec::new());
        }
        let last = batches.len() - 1;
        let mut file = file;
        for (i, batch) in batches.into_iter().enumerate() {
            let now = Utc::now();
            let step = Advance {
                connector: self.connector.name.clone(),
                owner: self.owner.to_owned(),
                checkpoint: (i == last).then(|| next.text()),
                tally: Tally { rejected: if i == 0 { rejected } else { 0 }, ..Tally::default() },
                file: if i == last { file.take() } else { None },
                lease_until: state::lease_end(now, self.lease),
                answers_back: self.connector.answers_back(),
            };
            let outcomes =
                service::ingest::run_step(self.db, self.notifier, &actor, batch, now, Some(step))
                    .await?;
            for o in outcomes {
                match o {
                    Outcome::Created { .. } => self.tally.created += 1,
                    Outcome::Duplicate { .. } => self.tally.duplicates += 1,
                    Outcome::Rejected(_) => self.tally.rejected += 1,
                }
            }
        }
        self.tally.rejected += rejected;
        Ok(())
    }

    /// GETs `url` as one page of the run, renewing the lease first (a page may take the
    /// whole time limit); `Ok(None)` when the run's page budget is spent or it was paused.
    async fn page(&mut self, url: &Url) -> Result<Option<Value>, RunError> {
        if self.pages >= self.connector.max_pages {
            return Ok(None);
        }
        let now = Utc::now();
        let held = state::acquire(
            self.db,
            &self.connector.name,
            self.owner,
            now,
            state::lease_end(now, self.lease),
        )
        .await?;
        match held {
            None => return Err(RunError::LeaseLost),
            Some(s) if s.paused => return Ok(None),
            Some(_) => {}
        }
        self.pages += 1;
        Ok(Some(self.client.get_json(url).await?))
    }
}

/// Runs `pass.connector` once from `checkpoint`.
pub async fn run(pass: &mut Pass<'_>, checkpoint: Checkpoint) -> Result<(), RunError> {
    let kind = pass.connector.kind.clone();
    match &kind {
        Kind::Open311(o) => open311(pass, o, checkpoint).await,
        Kind::JsonFeed(feed) => match &feed.paging {
            Paging::None => feed_once(pass, feed, checkpoint).await,
            Paging::Cursor { cursor, param } => {
                by_cursor(pass, feed, cursor, param, checkpoint).await
            }
            Paging::Time { param } => by_time(pass, feed, param, checkpoint).await,
        },
        Kind::CsvDrop(drop) => csv_drop(pass, drop, checkpoint).await,
    }
}

/// Windows of `start_date`/`end_date` from the checkpoint to now: a window whose answer fills
/// the server's page may have been cut, so it is halved and read again; one that comes back
/// well under grows for the next.
async fn open311(pass: &mut Pass<'_>, o: &Open311, cp: Checkpoint) -> Result<(), RunError> {
    let now = Utc::now();
    let since = Duration::from_std(o.since).unwrap_or(Duration::days(30));
    let overlap = Duration::from_std(o.overlap).unwrap_or_default();
    let mut start = whole_seconds(cp.until.map_or(now - since, |t| t - overlap));
    let mut window = cp.window_secs.unwrap_or(86_400).clamp(1, MAX_WINDOW_SECS);
    let source = pass.connector.source;
    loop {
        let now = whole_seconds(Utc::now());
        let end = (start + Duration::seconds(window)).min(now);
        // Whole seconds, `Z`: what GeoReport servers parse.
        let text = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut url = requests_url(&o.base);
        url.query_pairs_mut()
            .append_pair("start_date", &text(start))
            .append_pair("end_date", &text(end));
        let Some(answer) = pass.page(&url).await? else { return Ok(()) };
        let items = items::open311_items(&answer, source, o, now).map_err(RunError::Misbehaving)?;
        if items.len() >= o.page_size {
            if window > 1 {
                window /= 2;
                continue;
            }
            return Err(RunError::Misbehaving(format!(
                "the server answers a full page ({} requests) for one second at {}; raise \
                 page_size if it answers more",
                o.page_size,
                start.to_rfc3339()
            )));
        }
        if items.len() < o.page_size / 2 {
            window = (window * 2).min(MAX_WINDOW_SECS);
        }
        let next =
            Checkpoint { until: Some(end), window_secs: Some(window), ..Checkpoint::default() };
        pass.commit(items, &next, None).await?;
        if end >= now {
            return Ok(());
        }
        start = end;
    }
}

fn feed_page(pass: &Pass<'_>, feed: &JsonFeed, answer: &Value) -> Result<Vec<Item>, RunError> {
    items::feed_items(
        answer,
        &feed.list,
        &feed.fields,
        feed.municipality_id,
        pass.connector.source,
        pass.towns,
        Utc::now(),
    )
    .map_err(RunError::Misbehaving)
}

/// An unpaged feed: the one page, read whole each run.
async fn feed_once(pass: &mut Pass<'_>, feed: &JsonFeed, cp: Checkpoint) -> Result<(), RunError> {
    let Some(answer) = pass.page(&feed.url).await? else { return Ok(()) };
    let items = feed_page(pass, feed, &answer)?;
    pass.commit(items, &cp, None).await
}

fn with_param(url: &Url, param: &str, value: Option<&str>) -> Url {
    let mut url = url.clone();
    if let Some(value) = value {
        url.query_pairs_mut().append_pair(param, value);
    }
    url
}

/// The ids of a page's readable items, to tell a page sent twice.
fn ids(items: &[Item]) -> Vec<String> {
    items.iter().filter_map(|i| i.as_ref().ok().map(|s| s.external_id.clone())).collect()
}

/// A feed that names its next page: followed until it names none (the last cursor is kept,
/// so the next run asks it for what came since). A cursor seen before in the run, or a page
/// the same as the one before, is the source's fault and stops the run.
async fn by_cursor(
    pass: &mut Pass<'_>,
    feed: &JsonFeed,
    pointer: &str,
    param: &str,
    cp: Checkpoint,
) -> Result<(), RunError> {
    let mut at = cp.cursor;
    let mut seen: HashSet<String> = at.iter().cloned().collect();
    let mut previous: Option<Vec<String>> = None;
    loop {
        let url = with_param(&feed.url, param, at.as_deref());
        let Some(answer) = pass.page(&url).await? else { return Ok(()) };
        let items = feed_page(pass, feed, &answer)?;
        let page = ids(&items);
        if !page.is_empty() && previous.as_ref() == Some(&page) {
            return Err(RunError::Misbehaving(format!(
                "the source sent the same page twice (cursor {})",
                at.as_deref().unwrap_or("none")
            )));
        }
        let next = match answer.pointer(pointer) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(RunError::Misbehaving(format!(
                    "the next cursor at {pointer} is {other}, not text or a number"
                )));
            }
        };
        // An empty page is the end for now, whatever cursor it names.
        let empty = items.is_empty();
        if let Some(n) = &next
            && !empty
            && !seen.insert(n.clone())
        {
            return Err(RunError::Misbehaving(format!("the paging cursor {n:?} repeats")));
        }
        let done = next.is_none() || empty;
        // After an empty page the next run asks the same cursor again.
        let kept = if empty { at.clone() } else { next.clone().or(at.clone()) };
        let keep = Checkpoint { cursor: kept, ..Checkpoint::default() };
        pass.commit(items, &keep, None).await?;
        if done {
            return Ok(());
        }
        previous = Some(page);
        at = next;
    }
}

/// A feed asked for items after a time: the newest time seen is the checkpoint; a page that
/// brings nothing newer ends the run.
async fn by_time(
    pass: &mut Pass<'_>,
    feed: &JsonFeed,
    param: &str,
    cp: Checkpoint,
) -> Result<(), RunError> {
    let mut after = cp.after;
    loop {
        let url = with_param(&feed.url, param, after.map(|t| t.to_rfc3339()).as_deref());
        let Some(answer) = pass.page(&url).await? else { return Ok(()) };
        let items = feed_page(pass, feed, &answer)?;
        let newest = items.iter().filter_map(|i| i.as_ref().ok()?.received_at).max();
        let advanced = newest.is_some_and(|n| after.is_none_or(|a| n > a));
        let next = Checkpoint { after: after.max(newest), ..Checkpoint::default() };
        pass.commit(items, &next, None).await?;
        if !advanced {
            return Ok(());
        }
        after = next.after;
    }
}

/// The drop directory's CSV files not imported yet, in name order, each imported whole (in
/// batches; the checkpoint names the file and rows done, so a crash resumes inside it). A
/// file that cannot be read is reported, and the others are still imported.
async fn csv_drop(pass: &mut Pass<'_>, drop: &CsvDrop, cp: Checkpoint) -> Result<(), RunError> {
    let done = state::imported_files(pass.db, &pass.connector.name).await?;
    let dir = drop.dir.clone();
    let names = blocking(move || settled_csv_files(&dir)).await?.map_err(RunError::Misbehaving)?;
    let mut unreadable = Vec::new();
    for path in names {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (source, towns, file) = (pass.connector.source, pass.towns.clone(), path.clone());
        // Reading, hashing and parsing a file is the blocking pool's work, not a runtime
        // thread's that requests share.
        let read = blocking(move || {
            let bytes = std::fs::read(&file).ok()?;
            let sha256 = crate::cache::sha256_hex(&bytes);
            Some((sha256, service::import::read_from(bytes.as_slice(), &file, source, &towns)))
        });
        let Some((sha256, rows)) = read.await? else { continue };
        if done.contains(&(name.clone(), sha256.clone())) {
            continue;
        }
        let rows = match rows {
            Ok(rows) => rows,
            Err(err) => {
                unreadable.push(err.to_string());
                continue;
            }
        };
        let total = rows.len();
        let resume = match (&cp.file, &cp.sha256, cp.rows_done) {
            (Some(f), Some(s), Some(n)) if *f == name && *s == sha256 => n.min(total),
            _ => 0,
        };
        let mut items: Vec<Item> = rows.into_iter().skip(resume).map(|(_, r)| r).collect();
        let mut at = resume;
        loop {
            let rest = items.split_off(items.len().min(service::ingest::MAX_BATCH));
            let batch = std::mem::replace(&mut items, rest);
            at += batch.len();
            let finished = at >= total;
            let (next, file) = if finished {
                let rows = i32::try_from(total).unwrap_or(i32::MAX);
                (
                    Checkpoint::default(),
                    Some(ImportedFile { name: name.clone(), sha256: sha256.clone(), rows }),
                )
            } else {
                let next = Checkpoint {
                    file: Some(name.clone()),
                    sha256: Some(sha256.clone()),
                    rows_done: Some(at),
                    ..Checkpoint::default()
                };
                (next, None)
            };
            pass.commit(batch, &next, file).await?;
            if finished {
                break;
            }
        }
    }
    if unreadable.is_empty() { Ok(()) } else { Err(RunError::Misbehaving(unreadable.join("; "))) }
}
