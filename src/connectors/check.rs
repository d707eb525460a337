//! `cur-gateway connectors check FILE`: each connector's source tried once, nothing written.
//! An Open311 server's first page and a feed's first page are read and mapped item by item
//! as the connector would; a drop directory's CSV files are read to the end.
use super::{
    config::{Connector, Connectors, Kind},
    fetch::SourceClient,
    items::{self, Item, Towns},
};
use crate::service::import;
use chrono::{DateTime, Utc};
use reqwest::Url;

/// Reasons kept per connector in a report.
const REASONS: usize = 5;

/// What trying one connector found.
#[derive(Debug)]
pub struct Report {
    /// The connector.
    pub name: String,
    /// What one try read, or why the source could not be read.
    pub outcome: Result<Found, String>,
}

/// The items one try read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// Items (or rows) read.
    pub read: usize,
    /// Of them, the ones the ingest would be given.
    pub mappable: usize,
    /// The first rejections' reasons, with the item's place.
    pub rejected: Vec<String>,
}

impl Found {
    fn of(items: &[Item]) -> Self {
        let mut found = Found { read: items.len(), ..Found::default() };
        for (i, item) in items.iter().enumerate() {
            match item {
                Ok(_) => found.mappable += 1,
                Err(why) if found.rejected.len() < REASONS => {
                    found.rejected.push(format!("item {}: {why}", i + 1));
                }
                Err(_) => {}
            }
        }
        found
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Err(why) => write!(f, "{}: FAILED: {why}", self.name),
            Ok(found) => {
                let rejected = found.read - found.mappable;
                write!(
                    f,
                    "{}: ok, {} read, {} to ingest, {rejected} rejected",
                    self.name, found.read, found.mappable
                )?;
                for why in &found.rejected {
                    write!(f, "\n  {why}")?;
                }
                Ok(())
            }
        }
    }
}

/// Tries every connector once; `towns` resolves municipality names.
pub async fn run(connectors: &Connectors, towns: &Towns, now: DateTime<Utc>) -> Vec<Report> {
    let mut out = Vec::with_capacity(connectors.0.len());
    for c in &connectors.0 {
        out.push(Report { name: c.name.clone(), outcome: try_once(c, towns, now).await });
    }
    out
}

async fn try_once(c: &Connector, towns: &Towns, now: DateTime<Utc>) -> Result<Found, String> {
    let fetch = async |url: &Url| {
        let client = SourceClient::new(c).map_err(|e| e.to_string())?;
        client.get_json(url).await.map_err(|e| e.to_string())
    };
    match &c.kind {
        Kind::Open311(o) => {
            let answer = fetch(&requests_url(&o.base)).await?;
            Ok(Found::of(&items::open311_items(&answer, c.source, o, now)?))
        }
        Kind::JsonFeed(feed) => {
            let answer = fetch(&feed.url).await?;
            let items = items::feed_items(
                &answer,
                &feed.list,
                &feed.fields,
                feed.municipality_id,
                c.source,
                towns,
                now,
            )?;
            Ok(Found::of(&items))
        }
        Kind::CsvDrop(drop) => {
            let entries =
                std::fs::read_dir(&drop.dir).map_err(|e| format!("{}: {e}", drop.dir.display()))?;
            let mut found = Found::default();
            for entry in entries {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.extension().is_none_or(|e| !e.eq_ignore_ascii_case("csv")) {
                    continue;
                }
                // Read as the import reads it.
                let rows = import::read(&path, c.source, towns).map_err(|e| e.to_string())?;
                found.read += rows.len();
                for (line, row) in rows {
                    match row {
                        Ok(_) => found.mappable += 1,
                        Err(why) if found.rejected.len() < REASONS => {
                            found.rejected.push(format!("{}: row {line}: {why}", path.display()));
                        }
                        Err(_) => {}
                    }
                }
            }
            Ok(found)
        }
    }
}

/// `requests.json` under an Open311 base.
pub fn requests_url(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/requests.json", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}
