//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol) opens `/dashboard` on one replica with an operator's token; a complaint
//! ingested through the API of the other replica appears in the live feed within a second and
//! the KPI table's total changes within 2 s, on a desktop and on a phone-width screen.
//! Screenshots go to `target/screenshots/`.
use crate::browser::Browser;
use crate::cache::pair;
use serde_json::json;
use std::time::Duration;

const TOTAL: &str = "Number((document.querySelector('#kpis tr[data-key=TOTAL] td:nth-child(2)') || {}).textContent)";

#[tokio::test]
async fn the_dashboard_shows_an_ingested_complaint_and_its_kpi_within_two_seconds() {
    // Two replicas on one Postgres and one Redis: the page on `two`, the writes through `one`.
    let (one, app) = pair("redis://127.0.0.1:6379").await;
    let mut browser = Browser::launch().await;
    for (width, height, mobile) in [(1280, 900, false), (390, 844, true)] {
        browser
            .page(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
            )
            .await;
        let url = format!("http://{}/dashboard#token={}", app.addr, app.operator);
        browser.page("Page.navigate", json!({ "url": url })).await;
        browser
            .until(
                "document.getElementById('state')?.dataset.state === 'open'",
                Duration::from_secs(10),
            )
            .await;
        browser.until(&format!("{TOTAL} > 0"), Duration::from_secs(10)).await;
        let before = browser.eval(TOTAL).await.as_u64().expect("a total");
        // The page is in Russian and fits the screen without scrolling sideways.
        assert_eq!(browser.eval("document.documentElement.lang").await, "ru");
        let fits = browser.eval("document.documentElement.scrollWidth <= window.innerWidth").await;
        assert_eq!(fits, json!(true), "{width}px: the page scrolls sideways");

        let external = format!("browser-{width}");
        let created = one
            .data(
                "mutation($e: String!) { ingestComplaints(input: [{ source: EMAIL, externalId: $e, municipalityId: \"1\", text: \"Не вывозят мусор во дворе дома 5\" }]) { items { complaint { number } } } }",
                json!({ "e": external }),
            )
            .await;
        let number = created["ingestComplaints"]["items"][0]["complaint"]["number"]
            .as_str()
            .expect("a number")
            .to_owned();
        let in_feed = browser
            .until(
                &format!("[...document.querySelectorAll('#feed li strong')].some(e => e.textContent === '{number}')"),
                Duration::from_secs(1),
            )
            .await;
        let counted = in_feed
            + browser
                .until(&format!("{TOTAL} === {}", before + 1), Duration::from_secs(2) - in_feed)
                .await;
        eprintln!("{width}px: in the feed after {in_feed:?}, in the KPI total after {counted:?}");
        browser.screenshot(if mobile { "dashboard-phone" } else { "dashboard" }).await;
    }
}
