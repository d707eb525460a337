//! Read replicas, on a real streaming replica (a cluster of the test's own, copied with
//! pg_basebackup): reads go to the replica, a mutation's own reads to the primary; a replica
//! lagging past the bound, or down, sends reads to the primary, and reads return to it when it
//! is well again.
use crate::cluster::PgCluster;
use crate::helpers::{TestApp, error_code, metric};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const INGEST: &str = "mutation In($items: [IngestComplaintInput!]!) {
  ingestComplaints(input: $items) { items { complaintId complaint { id externalId text } } } }";
const ONE: &str = "query One($id: ID!) { complaint(id: $id) { id externalId } }";

/// Writes one complaint; the id and what the mutation itself read back.
async fn write(app: &TestApp, external: &str) -> (String, Value) {
    let items = json!([{ "source": "EMAIL", "externalId": external, "municipalityId": "1",
                         "text": "Не убран снег во дворе" }]);
    let data = app.data(INGEST, json!({ "items": items })).await;
    let item = data["ingestComplaints"]["items"][0].clone();
    (item["complaintId"].as_str().expect("created").to_owned(), item["complaint"].clone())
}

/// Whether a read finds complaint `id` (false: the replica does not have it yet).
async fn found(app: &TestApp, id: &str) -> bool {
    let resp = app.gql(ONE, json!({ "id": id })).await;
    match error_code(&resp) {
        None => !resp["data"]["complaint"].is_null(),
        Some("NOT_FOUND") => false,
        Some(_) => panic!("{resp:#}"),
    }
}

async fn until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// A gateway over `primary` seeded with `complaints` and `staff`, reading from a streaming
/// replica of it (lag bound `max_lag_ms`, no operation cache), once reads go to the replica.
pub(crate) async fn on_a_replica(
    primary: &PgCluster,
    complaints: u64,
    staff: u32,
    max_lag_ms: u64,
) -> (PgCluster, TestApp) {
    let mut db = primary.seeded(complaints, staff).await;
    let replica = primary.replica();
    db.config.database_read_url = Some(replica.url("cur"));
    db.config.replica_max_lag_ms = max_lag_ms;
    db.config.replica_check_ms = 100;
    db.config.cache_operations = false;
    let app = TestApp::serve(db).await;
    until("the replica in use", Duration::from_secs(10), async || {
        metric(&app, "cur_db_replica_in_use", &[]).await == 1.0
    })
    .await;
    (replica, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_use_the_replica_until_it_lags_or_fails_and_writes_read_the_primary() {
    let primary = PgCluster::start();
    let (replica, app) = on_a_replica(&primary, 50, 50, 1_000).await;

    // Replay paused: the replica falls behind from the next write on.
    replica.psql("cur", "SELECT pg_wal_replay_pause()");
    let (id, read_back) = write(&app, "lag-1").await;
    assert_eq!(read_back["externalId"], "lag-1", "the mutation reads its write from the primary");
    assert!(!found(&app, &id).await, "a read right after goes to the replica, which lacks it");
    // Past the bound, reads go to the primary.
    let took =
        until("reads on the primary", Duration::from_secs(5), async || found(&app, &id).await)
            .await;
    assert!(
        took >= Duration::from_millis(500),
        "reads left the replica only past the bound: {took:?}"
    );
    assert_eq!(metric(&app, "cur_db_replica_in_use", &[]).await, 0.0);
    let (_, ready) = app.readiness().await;
    assert_eq!((ready["status"].as_str(), ready["replica"].as_str()), (Some("ok"), Some("unused")));

    // Replay resumed: the replica catches up and answers reads again.
    replica.psql("cur", "SELECT pg_wal_replay_resume()");
    until("the replica in use again", Duration::from_secs(10), async || {
        metric(&app, "cur_db_replica_in_use", &[]).await == 1.0
    })
    .await;
    replica.psql("cur", "SELECT pg_wal_replay_pause()");
    let (id, _) = write(&app, "lag-2").await;
    assert!(!found(&app, &id).await, "reads are on the replica again");
    replica.psql("cur", "SELECT pg_wal_replay_resume()");
    until("the write replayed", Duration::from_secs(10), async || found(&app, &id).await).await;

    // The replica down: reads go on, from the primary, within a moment.
    tokio::task::block_in_place(|| replica.stop());
    let started = Instant::now();
    let mut failures = 0;
    loop {
        let resp = app.gql(ONE, json!({ "id": id })).await;
        match error_code(&resp) {
            None => {
                assert_eq!(resp["data"]["complaint"]["externalId"], "lag-2");
                if started.elapsed() > Duration::from_secs(2) {
                    break;
                }
            }
            Some(code) => {
                assert_eq!(code, "UNAVAILABLE", "{resp:#}");
                failures += 1;
                assert!(started.elapsed() < Duration::from_secs(2), "reads still fail: {resp:#}");
            }
        }
    }
    assert!(failures <= 3, "{failures} reads failed while the replica went away");
    let (status, _) = app.readiness().await;
    assert_eq!(status, 200, "a replica down does not make the gateway unready");
}
