//! Load clients of the fault tests: readers and one writer on a gateway's `/graphql` until
//! told to stop, keeping every answer they saw and the writes acknowledged to them; and the
//! check that no acknowledged write was lost.
use serde_json::{Value, json};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use std::time::{Duration, Instant};

const INGEST: &str = "mutation In($items: [IngestComplaintInput!]!) { ingestComplaints(input: $items) { created duplicates } }";

/// One answer a load client saw; status 0: none (the connection was refused or cut).
#[derive(Debug, Clone)]
pub struct Seen {
    pub started: Instant,
    pub took: Duration,
    pub status: u16,
    pub body: Value,
}

/// What the clients send, and where.
pub struct Plan<'a> {
    /// The gateway, or the balancer in front of it (`host:port`).
    pub at: String,
    pub token: &'a str,
    /// Clients sending `read`; one more writes complaints with external ids `<tag>-<n>`.
    pub readers: usize,
    pub read: &'a str,
    pub tag: &'static str,
    /// Between one client's requests.
    pub pause: Duration,
}

/// Running load clients.
pub struct Load {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    acked: Arc<Mutex<Vec<String>>>,
}

impl Load {
    /// Starts the readers and the writer, each with a connection of its own (a connection
    /// the server closes is that client's only).
    pub fn start(plan: Plan<'_>) -> Load {
        let load = Load {
            tasks: Vec::new(),
            stop: Arc::default(),
            seen: Arc::default(),
            acked: Arc::default(),
        };
        let url = format!("http://{}/graphql", plan.at);
        let tasks = (0..=plan.readers)
            .map(|client| {
                let writer = client == plan.readers;
                let (stop, seen, acked) =
                    (load.stop.clone(), load.seen.clone(), load.acked.clone());
                let (url, token, read) = (url.clone(), plan.token.to_owned(), plan.read.to_owned());
                let (tag, pause) = (plan.tag, plan.pause);
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let external = format!("{tag}-{n}");
                        let body = if writer {
                            let items = json!([{ "source": "EMAIL", "externalId": external,
                                                 "municipalityId": "1",
                                                 "text": "Не вывозят мусор во дворе дома 5" }]);
                            json!({ "query": INGEST, "variables": { "items": items } })
                        } else {
                            json!({ "query": read })
                        };
                        let started = Instant::now();
                        let sent = http.post(&url).bearer_auth(&token).json(&body).send().await;
                        let (status, body) = match sent {
                            Ok(resp) => {
                                let status = resp.status().as_u16();
                                (status, resp.json().await.unwrap_or(Value::Null))
                            }
                            Err(_) => (0, Value::Null),
                        };
                        let took = started.elapsed();
                        if writer
                            && status == 200
                            && body["data"]["ingestComplaints"]["created"] == 1
                        {
                            acked.lock().expect("lock").push(external);
                        }
                        seen.lock().expect("lock").push(Seen { started, took, status, body });
                        // Not a busy loop against a closed port.
                        let wait =
                            if status == 0 { pause.max(Duration::from_millis(10)) } else { pause };
                        tokio::time::sleep(wait).await;
                    }
                })
            })
            .collect();
        Load { tasks, ..load }
    }

    /// Stops the clients; every answer they saw and the writes acknowledged to them.
    pub async fn finish(self) -> (Vec<Seen>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("a load client");
        }
        let seen = self.seen.lock().expect("lock").clone();
        let acked = self.acked.lock().expect("lock").clone();
        (seen, acked)
    }
}

/// Asserts every acknowledged write is in the database at `url` exactly once (on a connection
/// of its own: pooled ones may have died with a restarted server).
pub async fn assert_kept(url: &str, acked: &[String]) {
    use sea_orm::ConnectionTrait;
    assert!(!acked.is_empty(), "no write was acknowledged");
    let db = sea_orm::Database::connect(url).await.expect("connect");
    for external in acked {
        let sql = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM complaint WHERE external_id = $1",
            [external.clone().into()],
        );
        let row = db.query_one_raw(sql).await.expect("count").expect("a row");
        let n: i64 = row.try_get_by_index(0).expect("count");
        assert_eq!(n, 1, "acknowledged write {external}");
    }
}
