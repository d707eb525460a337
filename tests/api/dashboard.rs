//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol) opens `/dashboard` on one replica with an operator's token; a complaint
//! ingested through the API of the other replica appears in the live feed within a second and
//! the KPI table's total changes within 2 s, on a desktop and on a phone-width screen.
//! Screenshots go to `target/screenshots/`.
use crate::cache::pair;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

/// A headless Chromium with one page, driven over the DevTools protocol.
struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next: u64,
    _profile: TempDir,
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    async fn launch() -> Browser {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = std::env::temp_dir().join(format!("cur-chromium-{}", std::process::id()));
        let mut child = Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{binary} does not start ({e}): install Debian's chromium (apt-get install chromium)")
            });
        let stderr = child.stderr.take().expect("stderr");
        let url = tokio::task::spawn_blocking(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        });
        let url = tokio::time::timeout(Duration::from_secs(30), url)
            .await
            .expect("Chromium prints its DevTools address")
            .expect("the reader")
            .expect("a DevTools address");
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("DevTools");
        let mut browser =
            Browser { child, socket, session: String::new(), next: 1, _profile: TempDir(profile) };
        let target =
            browser.call(None, "Target.createTarget", json!({ "url": "about:blank" })).await;
        let target_id = target["targetId"].as_str().expect("a target").to_owned();
        let attached = browser
            .call(None, "Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }))
            .await;
        browser.session = attached["sessionId"].as_str().expect("a session").to_owned();
        browser
    }

    /// Calls `method`, on the page's session unless `session` says otherwise; its result.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.socket.send(Message::Text(msg.to_string().into())).await.expect("send to DevTools");
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("DevTools answers")
                .expect("an open socket")
                .expect("a frame");
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("JSON");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Calls `method` on the page.
    async fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params).await
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .page("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }))
            .await;
        r["result"]["value"].clone()
    }

    /// Waits until `expression` is true, for at most `wait`; how long it took.
    async fn until(&mut self, expression: &str, wait: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.eval(expression).await == json!(true) {
                return started.elapsed();
            }
            assert!(started.elapsed() < wait, "not within {wait:?}: {expression}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the page to `target/screenshots/{name}.png`.
    async fn screenshot(&mut self, name: &str) {
        let shot = self.page("Page.captureScreenshot", json!({ "format": "png" })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }
}

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
