//! Reading a source over HTTP without letting it hurt: only the hosts its configuration
//! names (a redirect elsewhere, or more than a few, is refused), a time limit per request, a
//! bound on the answer's size (read in chunks, never buffered past it), and the source's
//! `Retry-After` kept for the caller's backoff.
use super::config::Connector;
use reqwest::{StatusCode, Url, redirect};
use std::time::Duration;

/// Answers smaller than this are parsed where they are read (a few hundred microseconds).
const PARSE_INLINE: usize = 256 * 1024;

/// Redirects followed at most (a loop ends here).
const MAX_REDIRECTS: usize = 5;

/// Why a source could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not reachable, refused, a redirect to a host it may not reach, or too many redirects.
    #[error("{0}")]
    Unreachable(String),
    /// No answer within the time limit.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// An answer other than 2xx; `retry_after` when the source said when to come back.
    #[error(
        "the source answered {status}{}",
        retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default()
    )]
    Status {
        /// The HTTP status.
        status: u16,
        /// The source's `Retry-After`, in seconds.
        retry_after: Option<Duration>,
    },
    /// The answer is larger than the connector reads.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// Not JSON.
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
}

/// An HTTP client for one connector: its hosts, its time limit, its size bound.
#[derive(Debug, Clone)]
pub struct SourceClient {
    http: reqwest::Client,
    hosts: Vec<String>,
    max_body_bytes: usize,
    timeout: Duration,
}

impl SourceClient {
    /// The client for `connector`.
    pub fn new(connector: &Connector) -> Result<Self, FetchError> {
        let hosts = connector.hosts.clone();
        let allowed = hosts.clone();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match attempt.url().host_str() {
                Some(host) if allowed.iter().any(|h| h == host) => attempt.follow(),
                other => {
                    let to = other.unwrap_or("nowhere").to_owned();
                    attempt.error(format!("a redirect to {to}, which this connector may not reach"))
                }
            }
        });
        let http = reqwest::Client::builder()
            .redirect(policy)
            .timeout(connector.timeout)
            .user_agent(concat!("cur-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(SourceClient {
            http,
            hosts,
            max_body_bytes: connector.max_body_bytes,
            timeout: connector.timeout,
        })
    }

    /// GETs `url` and reads its JSON answer within the bounds.
    pub async fn get_json(&self, url: &Url) -> Result<serde_json::Value, FetchError> {
        let host = url.host_str().unwrap_or_default();
        if !self.hosts.iter().any(|h| h == host) {
            return Err(FetchError::Unreachable(format!("{host} is not a host of this connector")));
        }
        let mut resp = self.http.get(url.clone()).send().await.map_err(|e| self.failed(e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(&resp, status),
            });
        }
        if resp.content_length().is_some_and(|n| n > self.max_body_bytes as u64) {
            return Err(FetchError::TooLarge(self.max_body_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.failed(e))? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(FetchError::TooLarge(self.max_body_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let body_len = body.len();
        let parse =
            move || serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()));
        if body_len < PARSE_INLINE {
            return parse();
        }
        // A large answer is parsed on the blocking pool, not on a thread requests share.
        tokio::task::spawn_blocking(parse)
            .await
            .map_err(|e| FetchError::NotJson(format!("the parse did not finish: {e}")))?
    }

    /// POSTs `body` to `url` with `headers`; the source's answer is read only for its status.
    pub async fn post(
        &self,
        url: &Url,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> Result<(), FetchError> {
        let host = url.host_str().unwrap_or_default();
        if !self.hosts.iter().any(|h| h == host) {
            return Err(FetchError::Unreachable(format!("{host} is not a host of this connector")));
        }
        let mut request =
            self.http.post(url.clone()).header(reqwest::header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let resp = request.body(body).send().await.map_err(|e| self.failed(e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        Err(FetchError::Status { status: status.as_u16(), retry_after: retry_after(&resp, status) })
    }

    fn failed(&self, err: reqwest::Error) -> FetchError {
        if err.is_timeout() {
            return FetchError::TimedOut(self.timeout);
        }
        // The redirect policy's own words are the useful part of a redirect error.
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        FetchError::Unreachable(text)
    }
}

/// A 429's or 503's `Retry-After` in seconds (a date form is not trusted: clocks differ).
fn retry_after(resp: &reqwest::Response, status: StatusCode) -> Option<Duration> {
    if !matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
        return None;
    }
    let value = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
