//! `cur-gateway import --source S FILE.csv`: hotline (and other) batches from CSV, through the
//! same idempotent pipeline as GraphQL and Open311 — importing a file twice adds nothing.
//!
//! Columns (header row, any order; only the first four are required):
//! `external_id, received_at, municipality, text, category, author_name, author_phone,
//! author_email, address, lat, lon`. `municipality` is an id or a Russian or English name;
//! `received_at` is RFC 3339 (`2026-11-28T09:15:00+05:00`).
use crate::{
    Error, Result,
    service::ingest::{self, Outcome, Submission},
    store::Db,
};
use chrono::{DateTime, Utc};
use entity::{Category, Source, municipality};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{ActiveEnum, EntityTrait};
use std::{collections::HashMap, path::Path, time::Instant};

/// Rows sent to the pipeline at once.
const BATCH: usize = ingest::MAX_BATCH;
/// Rejected rows listed in the summary.
const LISTED_REJECTIONS: usize = 20;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Registered now.
    pub created: u64,
    /// Already registered (same source and external id).
    pub duplicates: u64,
    /// Refused: (line, reason), the first few.
    pub rejected: Vec<(u64, String)>,
    /// Refused in all.
    pub rejected_count: u64,
    /// Wall time.
    pub seconds: f64,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "imported {} rows in {:.1} s: {} created, {} duplicates, {} rejected",
            self.rows, self.seconds, self.created, self.duplicates, self.rejected_count
        )?;
        for (line, reason) in &self.rejected {
            writeln!(f, "  line {line}: {reason}")?;
        }
        if self.rejected_count as usize > self.rejected.len() {
            writeln!(f, "  … and {} more", self.rejected_count as usize - self.rejected.len())?;
        }
        Ok(())
    }
}

/// Parses a source name as the GraphQL enum spells it (`HOTLINE_122`).
pub fn parse_source(name: &str) -> Result<Source> {
    Source::try_from_value(&name.trim().to_uppercase()).map_err(|_| {
        Error::bad_input(format!(
            "unknown source {name:?} (VK, TELEGRAM, OK, GOSUSLUGI_POS, HOTLINE_122, EMAIL, OPEN311, OTHER)"
        ))
    })
}

/// A row turned into a submission, or why it cannot be.
fn submission(
    source: Source,
    row: &csv::StringRecord,
    columns: &HashMap<String, usize>,
    municipalities: &HashMap<String, i32>,
) -> std::result::Result<Submission, String> {
    let get = |name: &str| {
        columns.get(name).and_then(|&i| row.get(i)).map(str::trim).filter(|v| !v.is_empty())
    };
    let owned = |name: &str| get(name).map(str::to_owned);
    let external_id = get("external_id").ok_or("external_id is empty")?.to_owned();
    let received_at = match get("received_at") {
        None => None,
        Some(v) => Some(
            DateTime::parse_from_rfc3339(v)
                .map_err(|_| format!("received_at {v:?} is not an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
    };
    let place = get("municipality").ok_or("municipality is empty")?;
    let municipality_id = *municipalities
        .get(&place.to_lowercase())
        .ok_or_else(|| format!("unknown municipality {place:?}"))?;
    let category = match get("category") {
        None => None,
        Some(c) => Some(
            Category::try_from_value(&c.to_uppercase())
                .map_err(|_| format!("unknown category {c:?}"))?,
        ),
    };
    let number = |name: &str| -> std::result::Result<Option<f64>, String> {
        get(name)
            .map(|v| v.parse().map_err(|_| format!("{name} {v:?} is not a number")))
            .transpose()
    };
    // The ingest refuses it too, with the same words; said here, a check that writes nothing
    // (`connectors check`) says it as well.
    let text = get("text").ok_or("text is empty")?.to_owned();
    Ok(Submission {
        source,
        external_id,
        text,
        municipality_id,
        category,
        received_at,
        author: ingest::Author {
            name: owned("author_name"),
            phone: owned("author_phone"),
            email: owned("author_email"),
            profile_url: None,
        },
        address: owned("address"),
        lat: number("lat")?,
        lon: number("lon")?,
    })
}

/// Municipalities by lower-cased id, Russian name and English name.
pub async fn municipality_names(db: &Db) -> Result<HashMap<String, i32>> {
    let mut names = HashMap::new();
    for m in municipality::Entity::find().all(db.write()).await? {
        names.insert(m.id.to_string(), m.id);
        names.insert(m.name.to_lowercase(), m.id);
        names.insert(m.name_en.to_lowercase(), m.id);
    }
    Ok(names)
}

/// The rows of the CSV file at `path`, each with its line: a submission from `source`, or why
/// the row cannot be one (`municipalities` from [`municipality_names`]). Reads only.
pub fn read(
    path: &Path,
    source: Source,
    municipalities: &HashMap<String, i32>,
) -> Result<Vec<(u64, std::result::Result<Submission, String>)>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::bad_input(format!("{}: {e}", path.display())))?;
    read_from(file, path, source, municipalities)
}

/// [`read`] of CSV text from `input` (`path` names it in the reasons).
pub fn read_from(
    input: impl std::io::Read,
    path: &Path,
    source: Source,
    municipalities: &HashMap<String, i32>,
) -> Result<Vec<(u64, std::result::Result<Submission, String>)>> {
    let io = |e: csv::Error| Error::bad_input(format!("{}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let columns: HashMap<String, usize> = reader
        .headers()
        .map_err(io)?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_lowercase(), i))
        .collect();
    for required in ["external_id", "municipality", "text"] {
        if !columns.contains_key(required) {
            return Err(Error::bad_input(format!(
                "{}: the header lacks `{required}`",
                path.display()
            )));
        }
    }
    Ok(reader
        .records()
        .map(|r| {
            let position = match &r {
                Ok(row) => row.position(),
                Err(e) => e.position(),
            };
            let line = position.map_or(0, csv::Position::line);
            let row = match r {
                Ok(row) => submission(source, &row, &columns, municipalities),
                Err(e) => Err(format!("unreadable row: {e}")),
            };
            (line, row)
        })
        .collect())
}

/// Imports `path` as complaints from `source`.
pub async fn run(
    db: &Db,
    notifier: &super::Notifier,
    source: Source,
    path: &Path,
    progress: bool,
) -> Result<ImportReport> {
    let started = Instant::now();
    let municipalities = municipality_names(db).await?;
    let records = read(path, source, &municipalities)?;
    let bar = if progress { ProgressBar::new(records.len() as u64) } else { ProgressBar::hidden() };
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} rows ({per_sec})")
    {
        bar.set_style(style);
    }
    let actor = format!("import:{}", path.file_name().map_or("-".into(), |n| n.to_string_lossy()));
    let mut report = ImportReport::default();
    let reject = |report: &mut ImportReport, line: u64, reason: String| {
        report.rejected_count += 1;
        if report.rejected.len() < LISTED_REJECTIONS {
            report.rejected.push((line, reason));
        }
    };
    let mut rows = records.into_iter();
    loop {
        let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let size = chunk.len() as u64;
        let mut lines = Vec::new();
        let mut batch = Vec::new();
        for (line, row) in chunk {
            report.rows += 1;
            match row {
                Ok(s) => {
                    lines.push(line);
                    batch.push(s);
                }
                Err(reason) => reject(&mut report, line, reason),
            }
        }
        let outcomes = ingest::run(db, notifier, &actor, batch, Utc::now()).await?;
        for (line, outcome) in lines.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Created { .. } => report.created += 1,
                Outcome::Duplicate { .. } => report.duplicates += 1,
                Outcome::Rejected(reason) => reject(&mut report, line, reason),
            }
        }
        bar.inc(size);
    }
    bar.finish_and_clear();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
