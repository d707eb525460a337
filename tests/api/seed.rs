//! The seed is deterministic and its histories obey the lifecycle; migrations go down and up.
use crate::helpers::{BOTH, Backend, TestDb};
use cur_gateway::seed::{self, SeedOptions};
use migration::MigratorTrait;

/// Every generated column of every complaint, as text (SQLite stores times as text).
async fn dump(db: &TestDb) -> Vec<String> {
    let text_cols = [
        "number",
        "source",
        "external_id",
        "category",
        "text",
        "received_at",
        "status",
        "priority",
        "first_response_due_at",
        "resolution_due_at",
    ];
    let opt_cols = [
        "address",
        "author_name",
        "author_phone",
        "author_email",
        "author_profile_url",
        "first_response_at",
        "resolved_at",
        "CAST(department_id AS TEXT)",
        "CAST(assignee_id AS TEXT)",
        "CAST(version AS TEXT)",
    ];
    let sql = format!(
        "SELECT {}, {} FROM complaint ORDER BY id",
        text_cols.join(", "),
        opt_cols.join(", ")
    );
    db.sql(&sql, vec![])
        .await
        .iter()
        .map(|r| {
            (0..text_cols.len() + opt_cols.len())
                .map(|i| r.try_get_by_index::<Option<String>>(i).expect("text").unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn seeded(backend: Backend, complaints: u64, seed: u64) -> TestDb {
    let db = TestDb::new(backend).await;
    let opts = SeedOptions { complaints, seed, staff: 200, progress: false };
    let report = seed::run(&db.db, &opts).await.expect("seed");
    assert_eq!(report.complaints, complaints);
    db
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = seeded(Backend::Sqlite, 150, 11).await;
    let b = seeded(Backend::Sqlite, 150, 11).await;
    let c = seeded(Backend::Sqlite, 150, 12).await;
    let (a, b, c) = (dump(&a).await, dump(&b).await, dump(&c).await);
    assert_eq!(a.len(), 150);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

async fn key_rows(db: &TestDb) -> Vec<(String, String, Option<i32>, i32)> {
    let key = "SELECT number, status, department_id, version FROM complaint ORDER BY id";
    db.sql(key, vec![])
        .await
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("number"),
                r.try_get_by_index(1).expect("status"),
                r.try_get_by_index(2).expect("department"),
                r.try_get_by_index(3).expect("version"),
            )
        })
        .collect()
}

#[tokio::test]
async fn postgres_copy_and_sqlite_inserts_write_the_same_rows() {
    let pg = seeded(Backend::Postgres, 120, 5).await;
    let lite = seeded(Backend::Sqlite, 120, 5).await;
    assert_eq!(key_rows(&pg).await, key_rows(&lite).await);
}

#[tokio::test]
async fn histories_are_consistent_with_the_lifecycle() {
    for backend in BOTH {
        let db = seeded(backend, 600, 3).await;
        let violations = [
            (
                "answered before received",
                "SELECT COUNT(*) FROM complaint WHERE first_response_at < received_at",
            ),
            (
                "resolved before received",
                "SELECT COUNT(*) FROM complaint WHERE resolved_at < received_at",
            ),
            (
                "RESOLVED without resolved_at",
                "SELECT COUNT(*) FROM complaint WHERE status = 'RESOLVED' AND resolved_at IS NULL",
            ),
            (
                "resolved_at while not RESOLVED",
                "SELECT COUNT(*) FROM complaint WHERE status <> 'RESOLVED' AND resolved_at IS NOT NULL",
            ),
            (
                "deadline before receipt",
                "SELECT COUNT(*) FROM complaint WHERE first_response_due_at <= received_at OR resolution_due_at < first_response_due_at",
            ),
            (
                "event before receipt",
                "SELECT COUNT(*) FROM status_event e JOIN complaint c ON c.id = e.complaint_id WHERE e.at < c.received_at",
            ),
            (
                "response before receipt",
                "SELECT COUNT(*) FROM response r JOIN complaint c ON c.id = r.complaint_id WHERE r.at < c.received_at",
            ),
            (
                "status differs from the last event",
                "SELECT COUNT(*) FROM complaint c WHERE c.status <> (SELECT e.to_status FROM status_event e WHERE e.complaint_id = c.id ORDER BY e.at DESC, e.id DESC LIMIT 1)",
            ),
            (
                "ANSWERED without a public response",
                "SELECT COUNT(*) FROM complaint c WHERE c.status IN ('ANSWERED', 'RESOLVED') AND NOT EXISTS (SELECT 1 FROM response r WHERE r.complaint_id = c.id AND r.is_public)",
            ),
            (
                "assignee outside the department",
                "SELECT COUNT(*) FROM complaint c JOIN staff s ON s.id = c.assignee_id WHERE s.department_id <> c.department_id",
            ),
            (
                "orphan assignment",
                "SELECT COUNT(*) FROM assignment a LEFT JOIN complaint c ON c.id = a.complaint_id WHERE c.id IS NULL",
            ),
            (
                "orphan event",
                "SELECT COUNT(*) FROM status_event e LEFT JOIN complaint c ON c.id = e.complaint_id WHERE c.id IS NULL",
            ),
            (
                "orphan response",
                "SELECT COUNT(*) FROM response r LEFT JOIN complaint c ON c.id = r.complaint_id WHERE c.id IS NULL",
            ),
            (
                "unknown department",
                "SELECT COUNT(*) FROM complaint c LEFT JOIN department d ON d.id = c.department_id WHERE c.department_id IS NOT NULL AND d.id IS NULL",
            ),
        ];
        for (what, sql) in violations {
            assert_eq!(db.sql_i64(sql, vec![]).await, 0, "{backend:?}: {what}");
        }
        // A realistic share is overdue: some, not most.
        let overdue = db
            .sql_i64(
                "SELECT COUNT(*) FROM complaint WHERE status NOT IN ('RESOLVED', 'REJECTED') \
                 AND ((first_response_at IS NULL AND first_response_due_at < $1) \
                 OR resolution_due_at < $1)",
                vec![chrono::Utc::now().into()],
            )
            .await;
        assert!((6..=180).contains(&overdue), "{backend:?}: {overdue} of 600 overdue");
        // Directory: 22 municipalities, each with its administration.
        assert_eq!(db.sql_i64("SELECT COUNT(*) FROM municipality", vec![]).await, 22);
        assert_eq!(
            db.sql_i64("SELECT COUNT(*) FROM department WHERE kind = 'municipal'", vec![]).await,
            22
        );
    }
}

#[tokio::test]
async fn a_second_seed_appends_and_ids_keep_counting() {
    for backend in BOTH {
        let db = seeded(backend, 50, 1).await;
        let opts = SeedOptions { complaints: 30, seed: 2, staff: 200, progress: false };
        seed::run(&db.db, &opts).await.expect("second seed");
        assert_eq!(db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await, 80);
        assert_eq!(db.sql_i64("SELECT COUNT(DISTINCT number) FROM complaint", vec![]).await, 80);
    }
}

#[tokio::test]
async fn migrations_roll_back_and_forward() {
    for backend in BOTH {
        let db = TestDb::new(backend).await;
        let all = migration::Migrator::migrations().len() as u32;
        db.db.migrate_down(all).await.expect("down");
        let tables = match backend {
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('complaint', 'municipality', 'status_event', 'kpi_block', 'connector_state', 'delivery')"
            }
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('complaint', 'municipality', 'status_event', 'kpi_block', 'connector_state', 'delivery')"
            }
        };
        assert_eq!(db.sql_i64(tables, vec![]).await, 0, "{backend:?}: down drops the tables");
        db.db.migrate().await.expect("up again");
        assert_eq!(db.sql_i64(tables, vec![]).await, 6, "{backend:?}: up recreates them");
    }
}
