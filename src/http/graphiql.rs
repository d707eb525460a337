//! GraphiQL in developer mode, served whole by the gateway (the vendored bundle in
//! `vendor/graphiql/`), so its Content-Security-Policy allows this origin only.
use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Scripts, styles and requests from this origin only; GraphiQL sets inline styles and its
/// stylesheet embeds its fonts and icons.
pub(crate) const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("graphiql/index.html");

/// The assets by name: body and media type.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../vendor/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.css",
        "text/css; charset=utf-8",
        include_bytes!("../../vendor/graphiql/graphiql.min.css"),
    ),
    (
        "react.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../vendor/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../vendor/graphiql/react-dom.production.min.js"),
    ),
    ("init.js", "text/javascript; charset=utf-8", include_bytes!("graphiql/init.js")),
    ("page.css", "text/css; charset=utf-8", include_bytes!("graphiql/page.css")),
];

/// The page, with its policy.
pub(crate) fn page() -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// GET `/graphiql/{file}` (developer mode only, as the page).
pub(crate) async fn asset(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    Path(file): Path<String>,
) -> Response {
    let found = ASSETS.iter().find(|(name, ..)| *name == file);
    let (Some((_, media, body)), true) = (found, state.dev) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, *media),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, *body).into_response()
}
