//! Browsers on other origins (the operator console, a ministry's workplace, the open-data
//! portal): CORS for the configured exact origins only — preflights answered, `Authorization`
//! and `Content-Type` allowed, the request id, `Retry-After` and the RateLimit headers
//! readable. Credentials (cookies) are never allowed: the API takes bearer tokens.
use axum::http::{HeaderName, HeaderValue, Method, header, request::Parts};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origins {
    /// None (production's default).
    None,
    /// Exactly these.
    Exact(Vec<HeaderValue>),
    /// Any port of localhost (developer mode's default).
    Localhost,
}

impl Origins {
    /// `CUR_CORS_ORIGINS` (comma-separated `scheme://host[:port]`), or the mode's default.
    pub(crate) fn parse(spec: Option<&str>, dev: bool) -> crate::Result<Self> {
        let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(if dev { Origins::Localhost } else { Origins::None });
        };
        let bad =
            |o: &str, why: &str| crate::Error::Startup(format!("CUR_CORS_ORIGINS: {o:?} {why}"));
        let mut exact = Vec::new();
        for origin in spec.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if origin == "*" {
                return Err(bad(origin, "is a wildcard; list the exact origins"));
            }
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| bad(origin, "must start with https:// or http://"))?;
            if rest.is_empty() || rest.contains(['/', '?', '#', '*', ' ']) {
                return Err(bad(origin, "is not an origin (scheme://host[:port], no path)"));
            }
            let value = HeaderValue::from_str(origin).map_err(|_| bad(origin, "is not ASCII"))?;
            exact.push(value);
        }
        Ok(Origins::Exact(exact))
    }

    /// The CORS layer for these origins; `None` when no origin is allowed.
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        let allow = match self {
            Origins::None => return None,
            Origins::Exact(list) => AllowOrigin::list(list.clone()),
            Origins::Localhost => {
                AllowOrigin::predicate(|o: &HeaderValue, _: &Parts| is_localhost(o))
            }
        };
        let exposed = [
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ];
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                .expose_headers(exposed)
                .max_age(Duration::from_secs(600)),
        )
    }
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, on any port.
fn is_localhost(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else { return false };
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix("[::1]") {
        Some(port) => return port.is_empty() || is_port(port),
        None => rest.split_once(':').map_or(rest, |(h, _)| h),
    };
    let port = &rest[host.len()..];
    matches!(host, "localhost" | "127.0.0.1") && (port.is_empty() || is_port(port))
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only_and_no_wildcard() {
        let o = Origins::parse(Some("https://console.admhmao.ru, http://localhost:5173"), false);
        assert_eq!(
            o.unwrap(),
            Origins::Exact(vec![
                HeaderValue::from_static("https://console.admhmao.ru"),
                HeaderValue::from_static("http://localhost:5173"),
            ])
        );
        for bad in ["*", "console.admhmao.ru", "https://a.ru/path", "https://*.a.ru"] {
            assert!(Origins::parse(Some(bad), false).is_err(), "{bad}");
        }
        assert_eq!(Origins::parse(None, false).unwrap(), Origins::None);
        assert_eq!(Origins::parse(None, true).unwrap(), Origins::Localhost);
    }

    #[test]
    fn localhost_means_the_loopback_host_on_any_port() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "https://localhost",
            "http://[::1]:5173",
        ] {
            assert!(is_localhost(&HeaderValue::from_static(ok)), "{ok}");
        }
        for no in [
            "http://localhost.evil.ru",
            "http://127.0.0.1.nip.io",
            "http://evil.ru:3000",
            "http://localhost:x",
        ] {
            assert!(!is_localhost(&HeaderValue::from_static(no)), "{no}");
        }
    }
}
