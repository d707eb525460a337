//! Connectors running inside the gateway against real servers the tests start: a gateway's
//! own Open311 API, a JSON feed paged by cursor (counting every page it serves, slow or
//! misbehaving on demand) and a CSV drop directory. Two replicas share one configuration:
//! each item is registered once, a replica killed mid-page is replaced from the checkpoint
//! with nothing lost and nothing doubled, and operators see and steer it all.
use crate::helpers::{Backend, TestApp, TestDb, error_code};
use crate::process::Process;
use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use cur_gateway::{
    auth::Role,
    seed::{self, SeedOptions},
};
use sea_orm::Value;
use serde_json::{Value as Json, json};
use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How a feed server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Pages by cursor, the last naming no next page.
    Pages,
    /// Busy: 503 with `Retry-After: 7`.
    Busy,
    /// Every page names the same next cursor.
    RepeatingCursor,
    /// Every page holds the first page's items, under a new cursor each time.
    SamePage,
}

/// A JSON feed of `total` items in pages of `page`, by `?after=<cursor>`.
#[derive(Clone)]
struct Feed {
    total: usize,
    page: usize,
    delay: Duration,
    mode: Arc<Mutex<Mode>>,
    /// Times each page (by its cursor, "" for the first) was served.
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Feed {
    async fn start(total: usize, page: usize, delay: Duration) -> (Feed, SocketAddr) {
        let feed = Feed {
            total,
            page,
            delay,
            mode: Arc::new(Mutex::new(Mode::Pages)),
            hits: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().route("/posts", get(serve_page)).with_state(feed.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (feed, addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    fn hits(&self) -> HashMap<String, usize> {
        self.hits.lock().expect("lock").clone()
    }

    fn served(&self) -> usize {
        self.hits().values().sum()
    }

    /// The external ids of every item.
    fn ids(&self) -> BTreeSet<String> {
        (0..self.total).map(|i| format!("post-{i}")).collect()
    }
}

async fn serve_page(
    State(feed): State<Feed>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let cursor = q.get("after").cloned().unwrap_or_default();
    *feed.hits.lock().expect("lock").entry(cursor.clone()).or_default() += 1;
    tokio::time::sleep(feed.delay).await;
    let mode = *feed.mode.lock().expect("lock");
    if mode == Mode::Busy {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, header::HeaderValue::from_static("7"));
        return (StatusCode::SERVICE_UNAVAILABLE, h, "busy").into_response();
    }
    let asked: usize = cursor.parse().unwrap_or(0);
    let start = if mode == Mode::SamePage { 0 } else { asked };
    let end = (start + feed.page).min(feed.total);
    let items: Vec<Json> = (start..end)
        .map(|i| {
            json!({ "id": format!("post-{i}"), "text": format!("Не вывозят мусор, двор {i}"),
                    "town": 1 + (i % 5), "at": "2026-11-30T10:00:00Z" })
        })
        .collect();
    let next = match mode {
        Mode::RepeatingCursor => json!("5"),
        Mode::SamePage => json!((asked + feed.page).to_string()),
        _ if end < feed.total => json!(end.to_string()),
        _ => Json::Null,
    };
    axum::Json(json!({ "data": items, "next": next })).into_response()
}

fn feed_connector(name: &str, at: SocketAddr, interval: &str) -> String {
    format!(
        "[[connector]]\nname = \"{name}\"\nkind = \"json_feed\"\nsource = \"VK\"\n\
         url = \"http://{at}/posts\"\nlist = \"/data\"\ninterval = \"{interval}\"\ntimeout = \"5s\"\n\
         fields = {{ id = \"/id\", text = \"/text\", time = \"/at\", municipality = \"/town\" }}\n\
         paging = {{ kind = \"cursor\", cursor = \"/next\", param = \"after\" }}\n\n"
    )
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("cur-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Complaints registered by connector `name` (its registration events), and how many
/// distinct complaints they are.
async fn registered_by(db: &TestDb, name: &str) -> (i64, i64) {
    let actor = Value::from(format!("connector:{name}"));
    let all = db
        .sql_i64(
            "SELECT COUNT(*) FROM status_event WHERE actor = $1 AND to_status = 'NEW'",
            vec![actor.clone()],
        )
        .await;
    let distinct = db
        .sql_i64(
            "SELECT COUNT(DISTINCT complaint_id) FROM status_event WHERE actor = $1 AND to_status = 'NEW'",
            vec![actor],
        )
        .await;
    (all, distinct)
}

/// The external ids registered by connector `name`.
async fn ids_of(db: &TestDb, name: &str) -> BTreeSet<String> {
    db.sql_column::<String>(
        "SELECT c.external_id FROM complaint c JOIN status_event e ON e.complaint_id = c.id \
         WHERE e.actor = $1 AND e.to_status = 'NEW'",
        vec![Value::from(format!("connector:{name}"))],
    )
    .await
    .into_iter()
    .collect()
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const STATUS: &str = "{ connectors { name kind state holder lastSuccessAt lastError failures \
    nextAttemptAt checkpoint lastHour { created duplicates rejected } \
    lastDay { created duplicates rejected } } }";

async fn statuses(app: &TestApp) -> HashMap<String, Json> {
    let data = app.data(STATUS, json!({})).await;
    data["connectors"]
        .as_array()
        .expect("connectors")
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or_default().to_owned(), c.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open311_server_a_feed_and_a_drop_directory_are_pulled_once_by_two_replicas() {
    // The Open311 source: a gateway of its own; its public requests are what it serves.
    let source = TestApp::spawn_configured(Backend::Sqlite, 160, |_| {}).await;
    let public: BTreeSet<String> = source
        .db
        .sql_column::<String>("SELECT number FROM complaint WHERE is_public", vec![])
        .await
        .into_iter()
        .collect();
    assert!(public.len() > 30, "the source serves enough requests: {}", public.len());
    // Pages slow enough that the second replica is up while the first pull is under way.
    let (feed, feed_at) = Feed::start(130, 25, Duration::from_millis(250)).await;
    let drop = temp_dir("drop");
    let mut csv = String::from("external_id,received_at,municipality,text\n");
    for i in 0..40 {
        csv.push_str(&format!("h-{i},2026-11-30T10:00:00Z,Сургут,Нет отопления в доме {i}\n"));
    }
    csv.push_str("h-bad,2026-11-30T10:00:00Z,Сургут,\n");
    std::fs::write(drop.join("hotline-1.csv"), &csv).expect("csv");
    std::fs::write(drop.join("notes.txt"), "not a CSV file").expect("txt");
    // Files only count once settled (not being written).
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let file = temp_dir("conf").join("connectors.toml");
    let conf = format!(
        "[[connector]]\nname = \"surgut-open311\"\nkind = \"open311\"\n\
         url = \"http://{}/open311/v2\"\ninterval = \"1s\"\nmunicipality_id = 1\n\
         since = \"400d\"\npage_size = 50\n\n{}\
         [[connector]]\nname = \"hotline\"\nkind = \"csv_drop\"\nsource = \"HOTLINE_122\"\n\
         dir = \"{}\"\ninterval = \"1s\"\n",
        source.addr,
        feed_connector("vk-feed", feed_at, "1s"),
        drop.display()
    );
    std::fs::write(&file, conf).expect("connectors file");

    let mut db = TestDb::new(Backend::Postgres).await;
    let opts = SeedOptions { complaints: 20, seed: 7, staff: 50, progress: false };
    seed::run(&db.db, &opts).await.expect("seed");
    db.config.connectors_file = Some(file);
    db.config.connector_lease_secs = 2;
    let a = TestApp::serve(db).await;
    let b = a.another().await;

    let hotline_rows = 40;
    wait_for("every item of the three sources", Duration::from_secs(60), async || {
        registered_by(&a.db, "surgut-open311").await.0 == public.len() as i64
            && registered_by(&a.db, "vk-feed").await.0 == feed.total as i64
            && registered_by(&a.db, "hotline").await.0 == hotline_rows
    })
    .await;
    // A few more runs of each, on both replicas' schedules: nothing more is registered.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ids_of(&a.db, "surgut-open311").await, public, "the Open311 server's requests");
    assert_eq!(ids_of(&a.db, "vk-feed").await, feed.ids(), "the feed's posts");
    for name in ["surgut-open311", "vk-feed", "hotline"] {
        let (all, distinct) = registered_by(&a.db, name).await;
        assert_eq!(all, distinct, "{name}: each item registered once");
    }
    let expected = [
        ("surgut-open311", public.len() as i64),
        ("vk-feed", feed.total as i64),
        ("hotline", hotline_rows),
    ];
    for (name, n) in expected {
        assert_eq!(registered_by(&a.db, name).await.0, n, "{name}");
    }
    // Only one replica pulled: every page but the last (read again for what comes next) was
    // served exactly once.
    let hits = feed.hits();
    for page in ["", "25", "50", "75", "100"] {
        assert_eq!(hits.get(page), Some(&1), "page {page:?} served once: {hits:?}");
    }

    // What operators see, the same through either replica.
    let seen = statuses(&b).await;
    assert_eq!(seen.len(), 3);
    let sum: i64 = ["surgut-open311", "vk-feed", "hotline"]
        .iter()
        .map(|n| seen[*n]["lastDay"]["created"].as_i64().unwrap_or(-1))
        .sum();
    assert_eq!(sum, public.len() as i64 + feed.total as i64 + hotline_rows, "{seen:#?}");
    for (name, s) in &seen {
        assert_eq!(s["state"], "RUNNING", "{name}: {s}");
        assert!(s["holder"].is_string(), "{name} is held by a replica: {s}");
        assert!(s["lastSuccessAt"].is_string(), "{name}");
    }
    assert_eq!(seen["hotline"]["lastDay"]["rejected"], 1, "the row without a text");
    assert_eq!(seen["hotline"]["kind"], "csv_drop");
    let checkpoint: Json =
        serde_json::from_str(seen["vk-feed"]["checkpoint"].as_str().expect("checkpoint")).unwrap();
    assert_eq!(checkpoint["cursor"], "125", "the last page's cursor is kept");
    let metrics = a.client.get(a.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let created = crate::helpers::metric_in(
        &metrics,
        "cur_connector_items",
        &[("connector", "vk-feed"), ("outcome", "created"), ("window", "24h")],
    );
    assert_eq!(created, feed.total as f64);
    assert_eq!(
        crate::helpers::metric_in(
            &metrics,
            "cur_connector_state",
            &[("connector", "vk-feed"), ("state", "running")]
        ),
        1.0
    );

    // A new file in the drop directory is imported; the old one is not read again.
    std::fs::write(drop.join("hotline-2.csv"), "external_id,municipality,text\nh-new,1,Холодно\n")
        .expect("csv");
    wait_for("the second file", Duration::from_secs(15), async || {
        registered_by(&a.db, "hotline").await.0 == hotline_rows + 1
    })
    .await;

    // Only operators see or steer connectors.
    let ministry = a.token(Role::Ministry, Some(1), None);
    let (_, denied) = a.gql_as(Some(&ministry), STATUS, json!({})).await;
    assert!(denied["data"].is_null(), "{denied}");
    assert_eq!(error_code(&denied), Some("FORBIDDEN"), "{denied}");
    let (_, denied) = a
        .gql_as(
            Some(&ministry),
            "mutation { pauseConnector(name: \"vk-feed\") { state } }",
            json!({}),
        )
        .await;
    assert!(error_code(&denied).is_some(), "{denied}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_pause_resume_and_run_a_connector_now_and_a_busy_source_backs_off() {
    let (feed, at) = Feed::start(30, 10, Duration::ZERO).await;
    let file = temp_dir("conf").join("connectors.toml");
    std::fs::write(&file, feed_connector("vk-feed", at, "1h")).expect("connectors file");
    let app = TestApp::spawn_configured(Backend::Sqlite, 20, |c| {
        c.connectors_file = Some(file);
        c.connector_lease_secs = 2;
    })
    .await;
    wait_for("the first run", Duration::from_secs(20), async || {
        registered_by(&app.db, "vk-feed").await.0 == 30
    })
    .await;
    let served = feed.served();
    // Interval 1h: nothing more unless asked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(feed.served(), served, "no run before the interval");

    let paused =
        app.data("mutation { pauseConnector(name: \"vk-feed\") { state } }", json!({})).await;
    assert_eq!(paused["pauseConnector"]["state"], "PAUSED");
    let asked =
        app.data("mutation { runConnectorNow(name: \"vk-feed\") { state } }", json!({})).await;
    assert_eq!(asked["runConnectorNow"]["state"], "PAUSED");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(feed.served(), served, "a paused connector does not run, even when asked");

    // Resumed, the pending request runs it at once; the source is busy now.
    feed.set(Mode::Busy);
    let resumed =
        app.data("mutation { resumeConnector(name: \"vk-feed\") { state } }", json!({})).await;
    assert_eq!(resumed["resumeConnector"]["state"], "RUNNING");
    wait_for("the failing run", Duration::from_secs(10), async || {
        statuses(&app).await["vk-feed"]["state"] == "FAILING"
    })
    .await;
    let s = &statuses(&app).await["vk-feed"];
    assert!(s["lastError"].as_str().unwrap_or_default().contains("503"), "{s}");
    let next: chrono::DateTime<chrono::Utc> =
        s["nextAttemptAt"].as_str().expect("next attempt").parse().expect("time");
    let wait = next - chrono::Utc::now();
    assert!(wait > chrono::Duration::seconds(5), "Retry-After: 7 is honoured: {wait}");
    assert_eq!(registered_by(&app.db, "vk-feed").await.0, 30, "nothing written");

    // Repeating cursors stop the run with a reason; the pages before it are kept. So does a
    // source that sends one page over and over under new cursors.
    for (mode, reason, failures) in
        [(Mode::RepeatingCursor, "repeats", 2), (Mode::SamePage, "same page twice", 3)]
    {
        feed.set(mode);
        app.data("mutation { runConnectorNow(name: \"vk-feed\") { state } }", json!({})).await;
        wait_for(reason, Duration::from_secs(10), async || {
            let s = &statuses(&app).await["vk-feed"];
            s["lastError"].as_str().is_some_and(|e| e.contains(reason))
        })
        .await;
        assert_eq!(statuses(&app).await["vk-feed"]["failures"], failures);
    }
    assert_eq!(registered_by(&app.db, "vk-feed").await.0, 30, "nothing written twice");

    let (_, unknown) = app
        .gql_as(
            Some(&app.operator),
            "mutation { pauseConnector(name: \"nope\") { state } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_page_is_replaced_from_the_checkpoint_with_nothing_lost_or_doubled() {
    // Slow pages, so the kill lands while a page is being read.
    let (feed, at) = Feed::start(400, 20, Duration::from_millis(300)).await;
    let file = temp_dir("conf").join("connectors.toml");
    std::fs::write(&file, feed_connector("vk-feed", at, "1s")).expect("connectors file");
    let db = TestDb::new(Backend::Postgres).await;
    let opts = SeedOptions { complaints: 20, seed: 7, staff: 50, progress: false };
    seed::run(&db.db, &opts).await.expect("seed");
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", db.config.database_url.clone().expect("url")),
        ("CUR_CONNECTORS_FILE", file.display().to_string()),
        ("CUR_CONNECTOR_LEASE_SECS", "2".into()),
        ("CUR_DEADLINE_WATCH_SECS", "0".into()),
        ("CUR_DEV", "true".into()),
    ];
    let mut a = Process::serve(&env);
    let mut b = Process::serve(&env);
    // Some pages in, find the holder and kill it (SIGKILL: no goodbye, the lease just stops).
    wait_for("a few pages", Duration::from_secs(30), async || {
        registered_by(&db, "vk-feed").await.0 >= 60
    })
    .await;
    let owner = db
        .sql_column::<String>(
            "SELECT lease_owner FROM connector_state WHERE name = 'vk-feed'",
            vec![],
        )
        .await
        .remove(0);
    let (holder, other) =
        if owner.contains(&format!(":{}:", a.pid())) { (&mut a, &b) } else { (&mut b, &a) };
    holder.kill();
    let at_kill = registered_by(&db, "vk-feed").await.0;
    assert!(at_kill < 400, "killed mid-pull: {at_kill}");

    wait_for("every item, by the other replica", Duration::from_secs(60), async || {
        registered_by(&db, "vk-feed").await.0 == 400
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (all, distinct) = registered_by(&db, "vk-feed").await;
    assert_eq!((all, distinct), (400, 400), "nothing lost, nothing doubled");
    assert_eq!(ids_of(&db, "vk-feed").await, feed.ids());
    let owner = db
        .sql_column::<String>(
            "SELECT lease_owner FROM connector_state WHERE name = 'vk-feed'",
            vec![],
        )
        .await
        .remove(0);
    assert!(owner.contains(&format!(":{}:", other.pid())), "the survivor holds it: {owner}");
    // At most the page under way at the kill was read twice (the last page is read again by
    // every later run: it is where new posts appear).
    let hits = feed.hits();
    let twice: Vec<_> =
        hits.iter().filter(|(cursor, n)| **n > 1 && cursor.as_str() != "380").collect();
    assert!(twice.len() <= 1, "pages read again: {twice:?}");
    let duplicates = db
        .sql_i64(
            "SELECT COALESCE(SUM(duplicates), 0) FROM connector_tally WHERE connector = 'vk-feed'",
            vec![],
        )
        .await;
    let last_page_rereads = (hits.get("380").copied().unwrap_or(1) - 1) as i64 * 20;
    assert!(duplicates - last_page_rereads <= 20, "at most one page doubled: {duplicates}");
}

/// One request a receiver got: its path, headers of note and body.
type Request = (String, HashMap<String, String>, String);

/// What a receiver of answers got.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Request>>>);

impl Received {
    fn all(&self) -> Vec<Request> {
        self.0.lock().expect("lock").clone()
    }
}

/// A source's answer endpoints: a webhook that is busy (503) for its first request, and an
/// Open311 updates endpoint.
async fn receiver() -> (Received, SocketAddr) {
    let got = Received::default();
    let record = |got: Received| {
        move |uri: axum::http::Uri, headers: HeaderMap, body: String| async move {
            let keep = ["x-cur-signature-256", "idempotency-key", "content-type"];
            let picked = keep
                .iter()
                .filter_map(|k| Some((k.to_string(), headers.get(*k)?.to_str().ok()?.to_owned())))
                .collect();
            let first = {
                let mut all = got.0.lock().expect("lock");
                all.push((uri.path().to_owned(), picked, body));
                all.len() == 1
            };
            if first { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", axum::routing::post(record(got.clone())))
        .route("/updates/{id}", axum::routing::post(record(got.clone())));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (got, addr)
}

const DELIVERIES: &str = "query($id: ID!) { complaint(id: $id) { deliveries { target event state attempts lastError } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_back_to_their_sources_once_from_two_replicas() {
    let (feed, feed_at) = Feed::start(6, 10, Duration::ZERO).await;
    let source = TestApp::spawn_configured(Backend::Sqlite, 60, |_| {}).await;
    let (got, hooks) = receiver().await;
    let file = temp_dir("conf").join("connectors.toml");
    let conf = format!(
        "{}webhook = {{ url = \"http://{hooks}/hook\", secret_env = \"CUR_TEST_HOOK_SECRET\" }}\n\n\
         [[connector]]\nname = \"surgut-open311\"\nkind = \"open311\"\n\
         url = \"http://{}/open311/v2\"\ninterval = \"1s\"\nmunicipality_id = 1\nsince = \"400d\"\n\
         updates_url = \"http://{hooks}/updates/{{id}}\"\n",
        feed_connector("vk-feed", feed_at, "1s"),
        source.addr
    );
    std::fs::write(&file, conf).expect("connectors file");
    let db = TestDb::new(Backend::Postgres).await;
    let opts = SeedOptions { complaints: 20, seed: 7, staff: 50, progress: false };
    seed::run(&db.db, &opts).await.expect("seed");
    let secret = "s3cret-for-the-hook";
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", db.config.database_url.clone().expect("url")),
        ("CUR_CONNECTORS_FILE", file.display().to_string()),
        ("CUR_CONNECTOR_LEASE_SECS", "2".into()),
        ("CUR_DEADLINE_WATCH_SECS", "0".into()),
        ("CUR_DEV", "true".into()),
        ("CUR_TEST_HOOK_SECRET", secret.into()),
    ];
    let a = Process::serve(&env);
    let b = Process::serve(&env);
    wait_for("the feed's posts and a request", Duration::from_secs(30), async || {
        registered_by(&db, "vk-feed").await.0 == 6
            && registered_by(&db, "surgut-open311").await.0 > 0
    })
    .await;
    let client = reqwest::Client::new();
    let gql = async |at: SocketAddr, token: &str, query: &str, variables: Json| -> Json {
        let resp = client
            .post(format!("http://{at}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql");
        resp.json().await.expect("json")
    };
    let of = async |connector: &str| -> (i64, i32, i32, String) {
        let rows = db
            .sql(
                "SELECT c.id, c.version, c.municipality_id, c.external_id FROM complaint c \
                 JOIN status_event e ON e.complaint_id = c.id \
                 WHERE e.actor = $1 AND e.to_status = 'NEW' ORDER BY c.id LIMIT 1",
                vec![Value::from(format!("connector:{connector}"))],
            )
            .await;
        let r = &rows[0];
        (
            r.try_get_by_index(0).expect("id"),
            r.try_get_by_index(1).expect("version"),
            r.try_get_by_index(2).expect("town"),
            r.try_get_by_index(3).expect("external id"),
        )
    };
    let operator = crate::helpers::mint(&db.config, Role::Operator, None, None);
    // A public answer to a post, through one replica; a rejection of a request through the other.
    let (post, post_version, town, post_ext) = of("vk-feed").await;
    let town_token = crate::helpers::mint(&db.config, Role::Municipality, None, Some(town));
    let answered = gql(
        a.addr,
        &town_token,
        "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"Вывезем завтра\", public: true, expectedVersion: $v) { version } }",
        json!({ "id": post.to_string(), "v": post_version }),
    )
    .await;
    assert!(answered["errors"].is_null(), "{answered}");
    let (request, version, _, request_ext) = of("surgut-open311").await;
    let rejected = gql(
        b.addr,
        &operator,
        "mutation($id: ID!, $v: Int!) { rejectComplaint(id: $id, reason: \"Дубликат обращения, звоните +7 912 000-11-22\", expectedVersion: $v) { version } }",
        json!({ "id": request.to_string(), "v": version }),
    )
    .await;
    assert!(rejected["errors"].is_null(), "{rejected}");
    // An internal note goes nowhere.
    let noted = gql(
        a.addr,
        &town_token,
        "mutation($id: ID!, $v: Int!) { respondToComplaint(id: $id, text: \"внутреннее\", public: false, expectedVersion: $v) { version } }",
        json!({ "id": post.to_string(), "v": post_version + 1 }),
    )
    .await;
    assert!(noted["errors"].is_null(), "the note is written: {noted}");

    wait_for("both answers delivered", Duration::from_secs(30), async || {
        let d = gql(b.addr, &operator, DELIVERIES, json!({ "id": post.to_string() })).await;
        let r = gql(a.addr, &operator, DELIVERIES, json!({ "id": request.to_string() })).await;
        d["data"]["complaint"]["deliveries"][0]["state"] == "DELIVERED"
            && r["data"]["complaint"]["deliveries"][0]["state"] == "DELIVERED"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = got.all();
    // The first request was refused with a 503 and sent again: each answer arrived (with a
    // 200) once, whatever replica sent it.
    assert_eq!(all.len(), 3, "{:#?}", all);
    let keys: BTreeSet<&String> =
        all.iter().filter_map(|(_, h, _)| h.get("idempotency-key")).collect();
    assert_eq!(keys.len(), 2, "two answers: {keys:?}");
    let hook: Vec<_> = all.iter().filter(|(path, ..)| path == "/hook").collect();
    let (_, headers, body) = hook.last().expect("a webhook delivery");
    assert_eq!(
        headers.get("x-cur-signature-256").map(String::as_str),
        Some(
            cur_gateway::connectors::deliver::signature(secret.as_bytes(), body.as_bytes())
                .as_str()
        ),
        "signed with HMAC-SHA256 of the body"
    );
    let answer: Json = serde_json::from_str(body).expect("json body");
    assert_eq!(
        (answer["externalId"].as_str(), answer["event"].as_str(), answer["statusNotes"].as_str()),
        (Some(post_ext.as_str()), Some("RESPONDED"), Some("Вывезем завтра"))
    );
    let update = all.iter().find(|(path, ..)| path.starts_with("/updates/")).expect("an update");
    assert_eq!(update.0, format!("/updates/{request_ext}"));
    let form: HashMap<String, String> =
        url::form_urlencoded::parse(update.2.as_bytes()).into_owned().collect();
    assert_eq!(form["service_request_id"], request_ext);
    assert_eq!(form["status"], "closed");
    // Sources publish what they get: personal data is masked as for the public.
    let notes = &form["status_notes"];
    assert!(notes.starts_with("Дубликат обращения") && !notes.contains("912"), "{notes}");
    assert!(chrono::DateTime::parse_from_rfc3339(&form["updated_datetime"]).is_ok(), "{form:?}");

    let d = gql(a.addr, &operator, DELIVERIES, json!({ "id": post.to_string() })).await;
    let r = gql(a.addr, &operator, DELIVERIES, json!({ "id": request.to_string() })).await;
    let (d, r) = (&d["data"]["complaint"]["deliveries"], &r["data"]["complaint"]["deliveries"]);
    assert_eq!(d.as_array().map(Vec::len), Some(1), "the note went nowhere: {d}");
    assert_eq!(r[0]["target"], "surgut-open311");
    assert_eq!(r[0]["event"], "REJECTED");
    // Whichever was sent first met the 503.
    let attempts: BTreeSet<i64> =
        [&d[0], &r[0]].iter().map(|x| x["attempts"].as_i64().unwrap_or(0)).collect();
    assert_eq!(attempts, BTreeSet::from([1, 2]), "{d} {r}");
    let failed_once = if d[0]["attempts"] == 2 { &d[0] } else { &r[0] };
    assert!(failed_once["lastError"].as_str().unwrap_or_default().contains("503"), "{failed_once}");

    // Deliveries are the center's: a ministry may not read them.
    let ministry = crate::helpers::mint(&db.config, Role::Ministry, Some(1), None);
    let denied = gql(a.addr, &ministry, DELIVERIES, json!({ "id": post.to_string() })).await;
    assert_eq!(error_code(&denied), Some("FORBIDDEN"), "{denied}");
    drop((a, b, feed));
}
