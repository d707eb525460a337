//! Deadlines: computed on ingest in Yekaterinburg time with the holiday calendar, and the
//! deadline watch reporting each breach once, however many replicas run it.
use crate::helpers::{BOTH, Backend, TestApp};
use chrono::{Duration, Utc};
use cur_gateway::store::{Db, deadlines};
use serde_json::json;

const INGEST: &str = r#"mutation($input: [IngestComplaintInput!]!) {
  ingestComplaints(input: $input) { items { status reason complaint { firstResponseDueAt resolutionDueAt } } } }"#;

#[tokio::test]
async fn deadlines_count_working_days_in_local_time_and_skip_holidays() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 10, 7).await;
        // Gosuslugi feedback: 10 working days. Hotline: 24 hours.
        let item = |ext: &str, source: &str, at: &str| json!({ "source": source, "externalId": ext, "text": "Яма во дворе", "municipalityId": "1", "receivedAt": at });
        let input = json!([
            // Tuesday 16:00 local before the 4 November holiday: Wednesday does not count.
            item("d-1", "GOSUSLUGI_POS", "2026-11-03T11:00:00Z"),
            // Friday 23:30 local and Saturday 00:30 local: both start counting on Monday.
            item("d-2", "GOSUSLUGI_POS", "2026-11-20T18:30:00Z"),
            item("d-3", "GOSUSLUGI_POS", "2026-11-20T19:30:00Z"),
            // Hours are wall-clock: a holiday changes nothing.
            item("d-4", "HOTLINE_122", "2026-11-03T11:00:00Z"),
        ]);
        let data = app.data(INGEST, json!({ "input": input })).await;
        let due: Vec<(String, String)> = data["ingestComplaints"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                let c = &i["complaint"];
                (
                    c["firstResponseDueAt"].as_str().unwrap_or("?").to_owned(),
                    c["resolutionDueAt"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect();
        // End of the 10th working day, local midnight = 19:00 UTC.
        assert_eq!(due[0].0, "2026-11-18T19:00:00+00:00", "{backend:?}: {due:?}");
        assert_eq!(due[1].0, "2026-12-04T19:00:00+00:00");
        assert_eq!(due[2].0, "2026-12-04T19:00:00+00:00");
        assert_eq!(due[3].0, "2026-11-04T11:00:00+00:00");
        // Hotline resolution: 10 working days from Tuesday 3 November (the 4th is off).
        assert_eq!(due[3].1, "2026-11-18T19:00:00+00:00");
    }
}

/// Puts every deadline far ahead, then makes complaint `a` miss its first response and `b`
/// its resolution (and `c`, resolved, miss both — which does not count).
async fn stage(app: &TestApp) -> (i64, i64, i64) {
    let far = Utc::now() + Duration::days(60);
    app.db
        .sql(
            "UPDATE complaint SET first_response_due_at = $1, resolution_due_at = $1",
            vec![far.into()],
        )
        .await;
    let ids =
        app.db.sql_column::<i64>("SELECT id FROM complaint ORDER BY id LIMIT 3", vec![]).await;
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let hour_ago = Utc::now() - Duration::hours(1);
    app.db
        .sql(
            "UPDATE complaint SET status = 'IN_PROGRESS', first_response_at = NULL, first_response_due_at = $1 WHERE id = $2",
            vec![hour_ago.into(), a.into()],
        )
        .await;
    app.db
        .sql(
            "UPDATE complaint SET status = 'ANSWERED', first_response_at = $1, resolution_due_at = $1 WHERE id = $2",
            vec![hour_ago.into(), b.into()],
        )
        .await;
    app.db
        .sql(
            "UPDATE complaint SET status = 'RESOLVED', first_response_at = NULL, first_response_due_at = $1, resolution_due_at = $1 WHERE id = $2",
            vec![hour_ago.into(), c.into()],
        )
        .await;
    (a, b, c)
}

#[tokio::test]
async fn each_breach_is_reported_once_across_replicas() {
    for backend in BOTH {
        let app = TestApp::spawn_with(backend, 30, 7).await;
        let (a, b, c) = stage(&app).await;
        // Two "replicas": two connection pools to the same database, ticking at once. The
        // embedded SQLite backend is one process by definition: there both ticks share it.
        let other = match backend {
            Backend::Postgres => Db::connect(&app.db.config).await.expect("second pool"),
            Backend::Sqlite => app.gateway_db.clone(),
        };
        let lookback = Duration::days(7);
        let now = Utc::now();
        let (one, two) = tokio::join!(
            deadlines::tick(&app.gateway_db, now, lookback),
            deadlines::tick(&other, now, lookback)
        );
        let (one, two) = (one.expect("tick"), two.expect("tick"));
        assert_eq!(one.reported + two.reported, 2, "{backend:?}: {one:?} {two:?}");
        let again = deadlines::tick(&other, Utc::now(), lookback).await.expect("tick");
        assert_eq!(again.reported, 0, "a breach is reported once");

        let events = app
            .db
            .sql("SELECT complaint_id, kind FROM complaint_event ORDER BY complaint_id", vec![])
            .await;
        let events: Vec<(i64, String)> = events
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index::<i64>(0).expect("id"),
                    r.try_get_by_index::<String>(1).expect("kind"),
                )
            })
            .collect();
        assert_eq!(
            events,
            [(a, "OVERDUE_FIRST_RESPONSE".to_owned()), (b, "OVERDUE_RESOLUTION".to_owned())]
        );
        let history = app
            .db
            .sql_i64(&format!("SELECT COUNT(*) FROM status_event WHERE actor = 'deadline-watch' AND complaint_id IN ({a}, {b}, {c})"), vec![])
            .await;
        assert_eq!(
            history, 2,
            "{backend:?}: one history line per breach, none for the resolved one"
        );
        // The history line is visible through the API, status unchanged.
        let q = "query($id: ID!) { complaint(id: $id) { status isOverdue history { from to actor comment } } }";
        let data = app.data(q, json!({ "id": a.to_string() })).await;
        let last = data["complaint"]["history"]
            .as_array()
            .and_then(|h| h.last())
            .cloned()
            .expect("history");
        assert_eq!(
            last,
            json!({ "from": "IN_PROGRESS", "to": "IN_PROGRESS", "actor": "deadline-watch", "comment": "Истёк срок первого ответа" })
        );
        assert_eq!(data["complaint"]["isOverdue"], true);
    }
}

#[tokio::test]
async fn the_watch_runs_inside_the_gateway() {
    let app = TestApp::spawn_configured(Backend::Postgres, 30, |c| c.deadline_watch_secs = 1).await;
    let (a, _, _) = stage(&app).await;
    let sql = format!("SELECT COUNT(*) FROM complaint_event WHERE complaint_id = {a}");
    for _ in 0..50 {
        if app.db.sql_i64(&sql, vec![]).await > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the gateway's deadline watch did not record the breach within 5 s");
}
