//! Browser apps on other origins: preflights for configured exact origins (and none for
//! others, none at all by default in production), the headers a page may read, a real page on
//! another local origin calling the API from headless Chromium; and GraphiQL and the
//! dashboard under a Content-Security-Policy that allows only themselves, with no violation.
use crate::browser::Browser;
use crate::helpers::{Backend, TestApp};
use axum::{Router, response::Html, routing::get};
use cur_gateway::ratelimit::Budgets;
use serde_json::json;
use std::{net::SocketAddr, time::Duration};

/// Serves, on `listener`, a page that calls `gateway` with `token` and leaves the outcome in
/// `window.outcome`.
fn serve_app_page(listener: tokio::net::TcpListener, gateway: SocketAddr, token: &str) {
    let html = format!(
        r#"<!DOCTYPE html><html><body><script>
fetch("http://{gateway}/graphql", {{
  method: "POST",
  headers: {{ "Authorization": "Bearer {token}", "Content-Type": "application/json" }},
  body: JSON.stringify({{ query: "{{ complaints(first: 2) {{ totalCount }} }}" }})
}}).then(async r => {{
  window.outcome = {{ status: r.status, body: await r.json(),
    requestId: r.headers.get("x-request-id"), rateLimit: r.headers.get("ratelimit"),
    policy: r.headers.get("ratelimit-policy") }};
}}).catch(e => {{ window.outcome = {{ failed: String(e) }}; }});
</script></body></html>"#
    );
    let router = Router::new().route("/", get(move || async move { Html(html.clone()) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
}

#[tokio::test]
async fn preflights_are_answered_for_configured_origins_only() {
    let allowed = "https://console.cur.example";
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |c| {
        c.cors_origins = Some(format!("{allowed}, https://open-data.cur.example"));
        c.rate_limits.set_budgets(Budgets { operator: 100, ..Budgets::unlimited() });
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let resp = preflight(allowed).await.expect("preflight");
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_lowercase();
    assert_eq!(get("access-control-allow-origin"), allowed);
    assert!(get("access-control-allow-methods").contains("post"));
    let headers = get("access-control-allow-headers");
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    assert!(h.get("access-control-allow-credentials").is_none(), "no credentials");
    assert!(get("vary").contains("origin"));

    let resp = preflight("https://evil.example").await.expect("preflight");
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    // The answer itself: readable by the allowed origin, with the headers a page may read.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", allowed)
        .bearer_auth(&app.operator)
        .json(&json!({ "query": "{ complaints(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("request");
    let exposed = resp.headers()["access-control-expose-headers"].to_str().expect("ascii");
    for name in ["x-request-id", "retry-after", "ratelimit", "ratelimit-policy"] {
        assert!(exposed.to_lowercase().contains(name), "{name} in {exposed}");
    }
    assert_eq!(resp.headers()["access-control-allow-origin"], allowed);

    // Production's default: no origin may call.
    let closed = TestApp::spawn_configured(Backend::Sqlite, 10, |c| c.dev = Some(false)).await;
    let resp = closed
        .client
        .request(reqwest::Method::OPTIONS, closed.url("/graphql"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_page_on_another_origin_calls_the_api_from_a_browser_only_when_allowed() {
    // Two origins of the app: one listed, one not.
    let listed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let unlisted = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (allowed_page, other_page) =
        (listed.local_addr().expect("a"), unlisted.local_addr().expect("b"));
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |c| {
        c.cors_origins = Some(format!("http://{allowed_page}"));
        c.rate_limits.set_budgets(Budgets { operator: 100, ..Budgets::unlimited() });
    })
    .await;
    serve_app_page(listed, app.addr, &app.operator);
    serve_app_page(unlisted, app.addr, &app.operator);

    let mut browser = Browser::launch().await;
    browser.page("Page.navigate", json!({ "url": format!("http://{allowed_page}/") })).await;
    browser.until("window.outcome !== undefined", Duration::from_secs(15)).await;
    let outcome = browser.eval("window.outcome").await;
    assert_eq!(outcome["status"], 200, "{outcome:#}");
    assert!(outcome["body"]["data"]["complaints"]["totalCount"].as_i64().is_some(), "{outcome:#}");
    assert!(outcome["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{outcome:#}");
    assert!(outcome["rateLimit"].as_str().is_some_and(|v| v.contains("r=")), "{outcome:#}");
    assert_eq!(outcome["policy"], r#""operator";q=100;w=60"#);

    // The same page on an origin that is not listed: the browser refuses to hand it the answer.
    browser.page("Page.navigate", json!({ "url": format!("http://{other_page}/") })).await;
    browser.until("window.outcome !== undefined", Duration::from_secs(15)).await;
    let outcome = browser.eval("window.outcome").await;
    assert!(outcome["failed"].as_str().is_some(), "{outcome:#}");
}

/// Records every CSP violation of every page the browser opens into `window.violations`.
const WATCH_VIOLATIONS: &str = "window.violations = []; document.addEventListener('securitypolicyviolation', e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));";

#[tokio::test]
async fn graphiql_and_the_dashboard_run_under_a_policy_that_allows_only_themselves() {
    let app = TestApp::spawn_configured(Backend::Sqlite, 10, |_| {}).await;
    for (path, accept) in [("/graphql", "text/html"), ("/dashboard", "text/html")] {
        let resp =
            app.client.get(app.url(path)).header("accept", accept).send().await.expect("page");
        let csp = resp.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("http") && !csp.contains('*'), "{path} allows another origin: {csp}");
    }
    // Each role's schema is valid GraphQL: a role that may run no mutation sees no Mutation
    // type (an object without fields would make GraphiQL refuse the whole schema).
    let roots = "{ __schema { mutationType { name } subscriptionType { name } } }";
    let public = app.data_as(None, roots, json!({})).await;
    assert_eq!(public["__schema"]["mutationType"], serde_json::Value::Null, "{public:#}");
    let operator = app.data(roots, json!({})).await;
    assert_eq!(operator["__schema"]["mutationType"]["name"], "Mutation");

    let mut browser = Browser::launch().await;
    browser.page("Page.enable", json!({})).await;
    browser
        .page("Page.addScriptToEvaluateOnNewDocument", json!({ "source": WATCH_VIOLATIONS }))
        .await;
    browser.page("Page.navigate", json!({ "url": app.url("/graphql") })).await;
    // GraphiQL renders and loads the schema through this origin's /graphql.
    browser.until("!!document.querySelector('.graphiql-container')", Duration::from_secs(20)).await;
    // A user's query: typed into the editor, run with the button, answered in the pane.
    let editor = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror";
    browser.eval(&format!("{editor}.setValue('{{ municipalities {{ id name }} }}')")).await;
    browser.eval("document.querySelector('.graphiql-execute-button').click()").await;
    let response = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()";
    browser
        .until(&format!("{response}.includes('\"municipalities\"')"), Duration::from_secs(20))
        .await;
    let shown = browser.eval(response).await;
    let shown: serde_json::Value =
        serde_json::from_str(shown.as_str().expect("the response pane")).expect("JSON");
    assert!(shown.get("errors").is_none(), "{shown:#}");
    assert!(shown["data"]["municipalities"].as_array().is_some_and(|c| !c.is_empty()), "{shown:#}");
    browser.screenshot("graphiql").await;
    assert_eq!(browser.eval("window.violations").await, json!([]), "GraphiQL's CSP violations");

    browser.page("Page.navigate", json!({ "url": app.url("/dashboard") })).await;
    browser.until("document.readyState === 'complete'", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.eval("window.violations").await, json!([]), "the dashboard's");
}
