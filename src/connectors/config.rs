//! The connectors file (`CUR_CONNECTORS_FILE`, TOML): one `[[connector]]` table per source,
//! read into typed settings per kind. Every key is checked: a key the kind does not have, a
//! missing one, a bad URL or duration is an error naming the connector and the key, so a
//! typo stops the start instead of silently disabling a source.
//!
//! ```toml
//! [[connector]]
//! name = "surgut-open311"
//! kind = "open311"
//! url = "http://127.0.0.1:9000/open311/v2"   # requests.json is read from it
//! interval = "30s"
//! municipality_id = 1                        # the source serves one municipality
//! ```
use entity::{Category, Source};
use reqwest::Url;
use sea_orm::ActiveEnum;
use serde::Deserialize;
use std::{collections::BTreeMap, path::PathBuf, time::Duration};

/// Why a connectors file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Every configured connector, in file order.
#[derive(Debug, Clone)]
pub struct Connectors(pub Vec<Connector>);

/// One source and how to read it.
#[derive(Debug, Clone)]
pub struct Connector {
    /// Unique name: the lease, the checkpoint and the status are keyed by it.
    pub name: String,
    /// Between two pulls.
    pub interval: Duration,
    /// The channel its complaints are registered as.
    pub source: Source,
    /// Hosts it may reach: its URL's and its webhook's (redirects elsewhere are refused).
    pub hosts: Vec<String>,
    /// Longest answer read from the source, in bytes.
    pub max_body_bytes: usize,
    /// One request's time limit.
    pub timeout: Duration,
    /// Pages read at most in one run (an endless cursor ends here; the next run goes on).
    pub max_pages: usize,
    /// What it reads.
    pub kind: Kind,
}

/// The kinds of source.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A remote Open311 GeoReport v2 server.
    Open311(Open311),
    /// Any HTTP JSON endpoint, read through a field mapping (boxed: its mapping is large).
    JsonFeed(Box<JsonFeed>),
    /// A directory whose new CSV files are imported once.
    CsvDrop(CsvDrop),
}

/// A remote GeoReport v2 server.
#[derive(Debug, Clone)]
pub struct Open311 {
    /// The server's base (`…/open311/v2`): `requests.json` is read from it.
    pub base: Url,
    /// The municipality of every request, when the server serves one.
    pub municipality_id: Option<i32>,
    /// `service_code` → category; a code equal to a category's name (in any case) maps to it
    /// without an entry, anything else is classified from the text.
    pub service_codes: BTreeMap<String, Category>,
    /// `jurisdiction_id` → municipality.
    pub jurisdictions: BTreeMap<String, i32>,
    /// The most requests the server answers at once: a window that fills it is halved, since
    /// the answer may have been cut.
    pub page_size: usize,
    /// How far back the first pull starts.
    pub since: Duration,
    /// How far each run re-reads behind its checkpoint, for requests the server registers
    /// with a time a little in the past (its clock, its queue); re-read ones are duplicates.
    pub overlap: Duration,
    /// Where a request's updates are POSTed (`{id}`: its `service_request_id`), when the
    /// server takes them: status, `status_notes` and `updated_datetime`, as GeoReport names
    /// them.
    pub updates_url: Option<String>,
}

/// An HTTP JSON endpoint and where the fields of its items are (JSON pointers).
#[derive(Debug, Clone)]
pub struct JsonFeed {
    /// The endpoint.
    pub url: Url,
    /// Where the list of items is in the answer (`""`: the answer is the list).
    pub list: String,
    /// Where each item's fields are.
    pub fields: FieldMap,
    /// How the next page is asked for.
    pub paging: Paging,
    /// Where answers are sent back, when the source takes them.
    pub webhook: Option<Webhook>,
    /// The municipality of every item without a municipality field.
    pub municipality_id: Option<i32>,
}

/// JSON pointers to an item's fields (RFC 6901, e.g. `/author/name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    /// The item's id in the source (required).
    pub id: String,
    /// The citizen's text (required).
    pub text: String,
    /// When it was written (RFC 3339, or Unix seconds).
    pub time: Option<String>,
    /// Its municipality: our id, or a name in the directory.
    pub municipality: Option<String>,
    /// Its category: one of ours by name, else classified from the text.
    pub category: Option<String>,
    /// The author's name.
    pub author: Option<String>,
}

/// How a feed is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// One page, read whole each time (the ingest's idempotence absorbs repeats).
    None,
    /// The answer names the next page: `cursor` is where (a JSON pointer), `param` the
    /// query parameter it is sent back as.
    Cursor {
        /// Pointer to the next cursor in the answer.
        cursor: String,
        /// Query parameter of the next request.
        param: String,
    },
    /// Items newer than the checkpoint: `param` carries the newest time seen (RFC 3339).
    Time {
        /// Query parameter of the next request.
        param: String,
    },
}

/// A webhook answers are posted to, signed with HMAC-SHA256 of the body.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where.
    pub url: Url,
    /// The environment variable holding the shared secret (kept out of the file).
    pub secret_env: String,
}

/// A directory of CSV files in the import format.
#[derive(Debug, Clone)]
pub struct CsvDrop {
    /// The directory.
    pub dir: PathBuf,
}

/// A `[[connector]]` table as written: every key any kind has, checked per kind below.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    kind: String,
    interval: Option<String>,
    source: Option<String>,
    url: Option<String>,
    municipality_id: Option<i32>,
    service_codes: Option<BTreeMap<String, String>>,
    jurisdictions: Option<BTreeMap<String, i32>>,
    list: Option<String>,
    fields: Option<RawFields>,
    paging: Option<RawPaging>,
    webhook: Option<RawWebhook>,
    dir: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    timeout: Option<String>,
    max_pages: Option<usize>,
    page_size: Option<usize>,
    since: Option<String>,
    overlap: Option<String>,
    updates_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    id: String,
    text: String,
    time: Option<String>,
    municipality: Option<String>,
    category: Option<String>,
    author: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaging {
    kind: String,
    cursor: Option<String>,
    param: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    secret_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    connector: Vec<Raw>,
}

/// Shortest interval between pulls (a source is somebody else's server).
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Default answer bound: 10 MB.
const DEFAULT_MAX_BODY: usize = 10 << 20;
/// Default time limit of one request.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default pages per run.
const DEFAULT_MAX_PAGES: usize = 100;
/// GeoReport servers commonly answer at most 1,000 requests (ours does).
const DEFAULT_PAGE_SIZE: usize = 1_000;

impl Connector {
    /// Whether answers to its complaints go back to its source.
    pub fn answers_back(&self) -> bool {
        match &self.kind {
            Kind::Open311(o) => o.updates_url.is_some(),
            Kind::JsonFeed(feed) => feed.webhook.is_some(),
            Kind::CsvDrop(_) => false,
        }
    }
}

impl Connectors {
    /// Reads and checks the file at `path`.
    pub fn read(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses and checks a connectors file's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: RawFile = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        let mut out: Vec<Connector> = Vec::with_capacity(file.connector.len());
        for raw in file.connector {
            let connector = raw.checked()?;
            if out.iter().any(|c| c.name == connector.name) {
                return Err(ConfigError(format!("two connectors are named `{}`", connector.name)));
            }
            out.push(connector);
        }
        Ok(Connectors(out))
    }
}

impl Raw {
    fn checked(self) -> Result<Connector, ConfigError> {
        let name = self.name.trim().to_owned();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(ConfigError(format!(
                "connector name {:?}: 1 to 64 letters, digits, `-` or `_`",
                self.name
            )));
        }
        let err = |msg: String| ConfigError(format!("connector `{name}` ({}): {msg}", self.kind));
        let interval = duration(self.interval.as_deref(), Duration::from_secs(60))
            .map_err(|e| err(format!("interval: {e}")))?;
        if interval < MIN_INTERVAL {
            return Err(err(format!("interval: at least {MIN_INTERVAL:?}")));
        }
        let timeout = duration(self.timeout.as_deref(), DEFAULT_TIMEOUT)
            .map_err(|e| err(format!("timeout: {e}")))?;
        let max_body_bytes = self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY);
        if max_body_bytes == 0 {
            return Err(err("max_body_bytes: more than 0".into()));
        }
        let max_pages = self.max_pages.unwrap_or(DEFAULT_MAX_PAGES);
        if max_pages == 0 {
            return Err(err("max_pages: more than 0".into()));
        }
        let allowed: &[&str] = match self.kind.as_str() {
            "open311" => &[
                "url",
                "municipality_id",
                "service_codes",
                "jurisdictions",
                "source",
                "max_pages",
                "page_size",
                "since",
                "overlap",
                "updates_url",
            ],
            "json_feed" => &[
                "url",
                "list",
                "fields",
                "paging",
                "webhook",
                "municipality_id",
                "source",
                "max_pages",
            ],
            "csv_drop" => &["dir", "source"],
            other => {
                return Err(err(format!("unknown kind `{other}` (open311, json_feed, csv_drop)")));
            }
        };
        for (key, set) in self.present() {
            if set && !allowed.contains(&key) {
                return Err(err(format!("`{key}` is not a setting of {} connectors", self.kind)));
            }
        }
        let default_source = match self.kind.as_str() {
            "open311" => "OPEN311",
            _ => "OTHER",
        };
        let source_name = self.source.as_deref().unwrap_or(default_source);
        let source = Source::try_from_value(&source_name.trim().to_uppercase())
            .map_err(|_| err(format!("source: unknown channel {source_name:?}")))?;
        let mut hosts = Vec::new();
        let kind = match self.kind.as_str() {
            "open311" => {
                let base = web_url(self.url.as_deref(), &mut hosts)
                    .map_err(|e| err(format!("url: {e}")))?;
                let mut service_codes = BTreeMap::new();
                for (code, category) in self.service_codes.unwrap_or_default() {
                    let category = parse_category(&category).ok_or_else(|| {
                        err(format!("service_codes.{code}: unknown category {category:?}"))
                    })?;
                    service_codes.insert(code, category);
                }
                let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
                if !(1..=crate::service::ingest::MAX_BATCH).contains(&page_size) {
                    let most = crate::service::ingest::MAX_BATCH;
                    return Err(err(format!("page_size: 1 to {most}")));
                }
                Kind::Open311(Open311 {
                    base,
                    municipality_id: self.municipality_id,
                    service_codes,
                    jurisdictions: self.jurisdictions.unwrap_or_default(),
                    page_size,
                    since: duration(self.since.as_deref(), Duration::from_secs(30 * 86_400))
                        .map_err(|e| err(format!("since: {e}")))?,
                    overlap: duration(self.overlap.as_deref(), Duration::from_secs(120))
                        .map_err(|e| err(format!("overlap: {e}")))?,
                    updates_url: match self.updates_url {
                        None => None,
                        Some(template) => {
                            let example = template.replace("{id}", "1");
                            web_url(Some(&example), &mut hosts)
                                .map_err(|e| err(format!("updates_url: {e}")))?;
                            Some(template)
                        }
                    },
                })
            }
            "json_feed" => {
                let url = web_url(self.url.as_deref(), &mut hosts)
                    .map_err(|e| err(format!("url: {e}")))?;
                let f = self
                    .fields
                    .ok_or_else(|| err("`fields` is required (at least id and text)".into()))?;
                let fields = FieldMap {
                    id: pointer(&f.id).map_err(|e| err(format!("fields.id: {e}")))?,
                    text: pointer(&f.text).map_err(|e| err(format!("fields.text: {e}")))?,
                    time: optional_pointer(f.time).map_err(|e| err(format!("fields.time: {e}")))?,
                    municipality: optional_pointer(f.municipality)
                        .map_err(|e| err(format!("fields.municipality: {e}")))?,
                    category: optional_pointer(f.category)
                        .map_err(|e| err(format!("fields.category: {e}")))?,
                    author: optional_pointer(f.author)
                        .map_err(|e| err(format!("fields.author: {e}")))?,
                };
                if fields.municipality.is_none() && self.municipality_id.is_none() {
                    return Err(err("either fields.municipality or municipality_id".into()));
                }
                let list = match self.list {
                    None => String::new(),
                    Some(l) => pointer(&l).map_err(|e| err(format!("list: {e}")))?,
                };
                let paging = match self.paging {
                    None => Paging::None,
                    Some(p) => paging(p).map_err(|e| err(format!("paging: {e}")))?,
                };
                let webhook = match self.webhook {
                    None => None,
                    Some(w) => {
                        let url = web_url(Some(&w.url), &mut hosts)
                            .map_err(|e| err(format!("webhook.url: {e}")))?;
                        if w.secret_env.trim().is_empty() {
                            return Err(err("webhook.secret_env: the variable's name".into()));
                        }
                        Some(Webhook { url, secret_env: w.secret_env })
                    }
                };
                Kind::JsonFeed(Box::new(JsonFeed {
                    url,
                    list,
                    fields,
                    paging,
                    webhook,
                    municipality_id: self.municipality_id,
                }))
            }
            _ => {
                let dir = self.dir.ok_or_else(|| err("`dir` is required".into()))?;
                Kind::CsvDrop(CsvDrop { dir })
            }
        };
        Ok(Connector { name, interval, source, hosts, max_body_bytes, timeout, max_pages, kind })
    }

    /// Each kind-specific key and whether the table sets it.
    fn present(&self) -> [(&'static str, bool); 15] {
        [
            ("url", self.url.is_some()),
            ("municipality_id", self.municipality_id.is_some()),
            ("service_codes", self.service_codes.is_some()),
            ("jurisdictions", self.jurisdictions.is_some()),
            ("list", self.list.is_some()),
            ("fields", self.fields.is_some()),
            ("paging", self.paging.is_some()),
            ("webhook", self.webhook.is_some()),
            ("dir", self.dir.is_some()),
            ("source", self.source.is_some()),
            ("max_pages", self.max_pages.is_some()),
            ("page_size", self.page_size.is_some()),
            ("since", self.since.is_some()),
            ("overlap", self.overlap.is_some()),
            ("updates_url", self.updates_url.is_some()),
        ]
    }
}

/// A category by its GraphQL name, in any case (`roads`, `HOUSING_UTILITIES`).
pub fn parse_category(name: &str) -> Option<Category> {
    Category::try_from_value(&name.trim().to_uppercase()).ok()
}

fn duration(text: Option<&str>, default: Duration) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(t) => humantime::parse_duration(t).map_err(|e| format!("{t:?}: {e} (e.g. 30s, 5m)")),
    }
}

/// An http(s) URL; its host joins `hosts`.
fn web_url(text: Option<&str>, hosts: &mut Vec<String>) -> Result<Url, String> {
    let text = text.ok_or("required")?;
    let url = Url::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?}: http or https only"));
    }
    let host = url.host_str().ok_or_else(|| format!("{text:?}: no host"))?.to_owned();
    if !hosts.contains(&host) {
        hosts.push(host);
    }
    Ok(url)
}

/// A JSON pointer (RFC 6901): empty, or `/` and its steps.
fn pointer(text: &str) -> Result<String, String> {
    if text.is_empty() || text.starts_with('/') {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not a JSON pointer (write /{text})"))
    }
}

fn optional_pointer(text: Option<String>) -> Result<Option<String>, String> {
    text.map(|t| pointer(&t)).transpose()
}

fn paging(raw: RawPaging) -> Result<Paging, String> {
    let param = || raw.param.clone().filter(|p| !p.trim().is_empty()).ok_or("`param` is required");
    match raw.kind.as_str() {
        "none" => Ok(Paging::None),
        "cursor" => {
            let cursor =
                raw.cursor.as_deref().ok_or("`cursor` (where the next cursor is) is required")?;
            Ok(Paging::Cursor { cursor: pointer(cursor)?, param: param()? })
        }
        "time" => Ok(Paging::Time { param: param()? }),
        other => Err(format!("unknown kind `{other}` (none, cursor, time)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[connector]]
name = "surgut-open311"
kind = "open311"
url = "http://127.0.0.1:9000/open311/v2"   # the server's base; requests.json is read from it
interval = "30s"
municipality_id = 1                        # when the source serves one municipality
"#;

    #[test]
    fn the_minimal_form_reads() {
        let Connectors(all) = Connectors::parse(MINIMAL).expect("valid");
        let c = &all[0];
        assert_eq!((c.name.as_str(), c.interval), ("surgut-open311", Duration::from_secs(30)));
        assert_eq!(c.source, Source::Open311);
        assert_eq!(c.hosts, ["127.0.0.1"]);
        let Kind::Open311(o) = &c.kind else { panic!("open311") };
        assert_eq!(o.base.as_str(), "http://127.0.0.1:9000/open311/v2");
        assert_eq!(o.municipality_id, Some(1));
    }

    #[test]
    fn each_kind_reads_with_its_settings() {
        let text = r#"
[[connector]]
name = "vk"
kind = "json_feed"
source = "vk"
url = "https://monitoring.test/api/posts"
list = "/items"
fields = { id = "/id", text = "/text", time = "/created_at", municipality = "/town", author = "/from/name" }
paging = { kind = "cursor", cursor = "/next", param = "after" }
webhook = { url = "https://monitoring.test/answers", secret_env = "CUR_VK_SECRET" }

[[connector]]
name = "hotline"
kind = "csv_drop"
source = "HOTLINE_122"
dir = "/var/lib/cur/drop"
interval = "5m"

[[connector]]
name = "nv-open311"
kind = "open311"
url = "https://open311.nv.test/v2"
service_codes = { "001" = "roads", "gkh" = "HOUSING_UTILITIES" }
jurisdictions = { "nv" = 2 }
"#;
        let Connectors(all) = Connectors::parse(text).expect("valid");
        let Kind::JsonFeed(feed) = &all[0].kind else { panic!("json_feed") };
        assert_eq!(all[0].source, Source::Vk);
        assert_eq!(feed.paging, Paging::Cursor { cursor: "/next".into(), param: "after".into() });
        assert_eq!(feed.fields.author.as_deref(), Some("/from/name"));
        assert_eq!(all[0].hosts, ["monitoring.test"], "the webhook's host is the feed's");
        let Kind::CsvDrop(drop) = &all[1].kind else { panic!("csv_drop") };
        assert_eq!(drop.dir, PathBuf::from("/var/lib/cur/drop"));
        assert_eq!(all[1].interval, Duration::from_secs(300));
        let Kind::Open311(o) = &all[2].kind else { panic!("open311") };
        assert_eq!(o.service_codes.get("001"), Some(&Category::Roads));
        assert_eq!(o.jurisdictions.get("nv"), Some(&2));
    }

    #[test]
    fn mistakes_are_named_with_their_connector_and_key() {
        let bad = |extra: &str, fragment: &str| {
            let text = format!("[[connector]]\nname = \"x\"\n{extra}\n");
            let err = Connectors::parse(&text).expect_err(extra).0;
            assert!(err.contains(fragment), "{extra}: {err}");
        };
        bad("kind = \"open311\"", "url: required");
        bad("kind = \"open311\"\nurl = \"ftp://h/x\"", "http or https only");
        bad(
            "kind = \"open311\"\nurl = \"http://h/x\"\nintervall = \"1s\"",
            "unknown field `intervall`",
        );
        bad("kind = \"open311\"\nurl = \"http://h/x\"\ninterval = \"soon\"", "interval");
        bad("kind = \"open311\"\nurl = \"http://h/x\"\ninterval = \"10ms\"", "at least");
        bad(
            "kind = \"open311\"\nurl = \"http://h/x\"\ndir = \"/tmp\"",
            "`dir` is not a setting of open311",
        );
        bad(
            "kind = \"open311\"\nurl = \"http://h/x\"\nservice_codes = { a = \"weather\" }",
            "service_codes.a",
        );
        bad("kind = \"ftp\"", "unknown kind `ftp`");
        bad("kind = \"csv_drop\"", "`dir` is required");
        bad("kind = \"json_feed\"\nurl = \"http://h/x\"", "`fields` is required");
        bad(
            "kind = \"json_feed\"\nurl = \"http://h/x\"\nfields = { id = \"id\", text = \"/t\" }\nmunicipality_id = 1",
            "not a JSON pointer",
        );
        bad(
            "kind = \"json_feed\"\nurl = \"http://h/x\"\nfields = { id = \"/id\", text = \"/t\" }",
            "municipality",
        );
        bad("kind = \"csv_drop\"\ndir = \"/d\"\nsource = \"fax\"", "unknown channel");
        let twice = format!("{MINIMAL}{MINIMAL}");
        assert!(Connectors::parse(&twice).expect_err("dup").0.contains("two connectors are named"));
        let empty = Connectors::parse("").expect("no connectors is a valid file");
        assert!(empty.0.is_empty());
    }
}
