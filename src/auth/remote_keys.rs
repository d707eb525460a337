//! Signing keys from an identity provider's JWKS URL: fetched over HTTPS, refreshed when the
//! response's `Cache-Control: max-age` or `Expires` says (5 minutes when it says nothing or
//! `no-cache`), and at once when a token names a key the set lacks — at most once per
//! [`FORCED_REFRESH_INTERVAL`], so tokens with made-up `kid`s cannot hammer the provider.
//! The last good set stays in use while the provider is unreachable.
use super::jwt::KeySet;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Notify;

/// Refresh interval when the provider gives none.
const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
/// Bounds of a provider-given refresh interval.
const MIN_REFRESH: Duration = Duration::from_secs(1);
const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);
/// Pause after a failed fetch.
const RETRY: Duration = Duration::from_secs(5);
/// Fewest seconds between fetches for unknown key ids.
pub(crate) const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Longest wait for the provider.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A JWKS URL and the last good key set read from it.
pub(crate) struct RemoteKeys {
    url: String,
    client: reqwest::Client,
    set: RwLock<Option<KeySet>>,
    /// When a refresh for an unknown key id last ran.
    forced: Mutex<Option<Instant>>,
    /// Serializes fetches (a burst of unknown-kid tokens makes one).
    fetching: tokio::sync::Mutex<()>,
    /// How long the last fetched set is good for (from its response's headers).
    fresh_for: Mutex<Duration>,
    /// Tells the refresher a forced fetch ran (its timer restarts from it).
    wake: Notify,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys").field("url", &self.url).finish_non_exhaustive()
    }
}

/// How long a response says its keys are good for.
fn freshness(headers: &reqwest::header::HeaderMap) -> Duration {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(cc) = header(reqwest::header::CACHE_CONTROL) {
        let directives: Vec<&str> = cc.split(',').map(str::trim).collect();
        if directives
            .iter()
            .any(|d| d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache"))
        {
            return DEFAULT_REFRESH;
        }
        let max_age = directives.iter().find_map(|d| {
            let (k, v) = d.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| v.trim().trim_matches('"').parse::<u64>().ok())?
        });
        if let Some(secs) = max_age {
            return Duration::from_secs(secs).clamp(MIN_REFRESH, MAX_REFRESH);
        }
    }
    if let Some(expires) =
        header(reqwest::header::EXPIRES).and_then(|e| httpdate::parse_http_date(e).ok())
    {
        let left = expires.duration_since(SystemTime::now()).unwrap_or_default();
        return left.clamp(MIN_REFRESH, MAX_REFRESH);
    }
    DEFAULT_REFRESH
}

impl RemoteKeys {
    /// A key source at `url` (HTTPS only), trusting `extra_ca` besides the well-known roots.
    pub(crate) fn new(url: &str, extra_ca: Option<&[u8]>) -> crate::Result<Self> {
        let fail = |e: String| crate::Error::Startup(format!("CUR_JWKS_URL {url}: {e}"));
        if !url.starts_with("https://") {
            return Err(fail("keys are fetched over HTTPS only".into()));
        }
        let mut client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).https_only(true);
        if let Some(pem) = extra_ca {
            let ca = reqwest::Certificate::from_pem(pem)
                .map_err(|e| crate::Error::Startup(format!("CUR_JWKS_CA_FILE: {e}")))?;
            client = client.add_root_certificate(ca);
        }
        let client = client.build().map_err(|e| fail(e.to_string()))?;
        Ok(RemoteKeys {
            url: url.to_owned(),
            client,
            set: RwLock::new(None),
            forced: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            fresh_for: Mutex::new(DEFAULT_REFRESH),
            wake: Notify::new(),
        })
    }

    /// Runs `f` with the current key set (None before the first good fetch).
    pub(crate) fn with_set<T>(&self, f: impl FnOnce(Option<&KeySet>) -> T) -> T {
        let set = self.set.read().unwrap_or_else(|e| e.into_inner());
        f(set.as_ref())
    }

    /// Fetches the set once: how long it is good for, or why it could not be read (the
    /// previous set stays).
    async fn fetch(&self) -> Result<Duration, String> {
        let _one = self.fetching.lock().await;
        let resp = self.client.get(&self.url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("the provider answered {}", resp.status()));
        }
        let fresh_for = freshness(resp.headers());
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let set = KeySet::parse(&text).map_err(|e| format!("not a usable JWKS: {e}"))?;
        let keys = set.len();
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Some(set);
        *self.fresh_for.lock().unwrap_or_else(|e| e.into_inner()) = fresh_for;
        tracing::info!(url = %self.url, keys, refresh_secs = fresh_for.as_secs(), "JWKS fetched");
        Ok(fresh_for)
    }

    /// A token named a key the set lacks: fetches now unless a forced fetch ran within the
    /// interval. Whether a fetch ran and succeeded.
    pub(crate) async fn refresh_for_unknown_key(&self) -> bool {
        {
            let mut forced = self.forced.lock().unwrap_or_else(|e| e.into_inner());
            if forced.is_some_and(|at| at.elapsed() < FORCED_REFRESH_INTERVAL) {
                return false;
            }
            *forced = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(_) => {
                self.wake.notify_one();
                true
            }
            Err(err) => {
                tracing::warn!(url = %self.url, %err, "JWKS refresh failed; keeping the previous keys");
                false
            }
        }
    }

    /// Keeps the set fresh until the process ends.
    pub(crate) async fn refresh(&self) {
        let mut pause = self.fetch_or_retry().await;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(pause) => pause = self.fetch_or_retry().await,
                // A forced fetch just ran: the next periodic one counts from it.
                _ = self.wake.notified() => {
                    pause = *self.fresh_for.lock().unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// One periodic fetch: the pause until the next (the set's freshness, or a retry).
    async fn fetch_or_retry(&self) -> Duration {
        self.fetch().await.unwrap_or_else(|err| {
            tracing::warn!(url = %self.url, %err, "JWKS fetch failed; keeping the previous keys");
            RETRY
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CACHE_CONTROL, EXPIRES, HeaderMap, HeaderValue};

    #[test]
    fn freshness_follows_cache_control_then_expires() {
        let mut h = HeaderMap::new();
        assert_eq!(freshness(&h), DEFAULT_REFRESH);
        h.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=120"));
        assert_eq!(freshness(&h), Duration::from_secs(120));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(freshness(&h), DEFAULT_REFRESH);
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=999999999"));
        assert_eq!(freshness(&h), MAX_REFRESH);
        let mut h = HeaderMap::new();
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        h.insert(EXPIRES, HeaderValue::from_str(&in_a_minute).unwrap());
        let d = freshness(&h);
        assert!(d > Duration::from_secs(55) && d <= Duration::from_secs(60), "{d:?}");
    }
}
