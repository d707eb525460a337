//! `cur-gateway import`: a hotline CSV with good and bad rows, imported twice.
use crate::helpers::{Backend, TestApp};

const CSV: &str = "external_id,received_at,municipality,text,category,author_name,author_phone,address,lat,lon
122-001,2026-11-27T09:15:00+05:00,1,\"Нет горячей воды в доме 5, ул. Мира\",HOUSING_UTILITIES,Петрова Анна,+79120000001,\"ул. Мира, 5\",61.25,73.39
122-002,2026-11-27T10:00:00+05:00,Сургут,\"Автобус №21 не ходит с утра,
люди опаздывают на работу\",,Сидоров,,,,
122-003,2026-11-27T11:00:00+05:00,1,   ,,,,,,
122-004,2026-11-27T11:30:00+05:00,Атлантида,Где мой ответ?,,,,,,
122-005,2099-01-01T00:00:00+05:00,1,Из будущего,,,,,,
122-006,вчера,1,Дата словами,,,,,,
122-001,2026-11-27T09:15:00+05:00,1,Повтор той же строки,,,,,,
122-007,2026-11-28T08:00:00+05:00,nefteyugansk,В поликлинике нет талонов к педиатру,,,,,north,
122-008,2026-11-28T08:05:00+05:00,nefteyugansk,В поликлинике нет талонов к педиатру,,,,,,
";

fn import(app: &TestApp, file: &std::path::Path, source: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cur-gateway"))
        .args(["import", "--source", source])
        .arg(file)
        .env("DATABASE_URL", app.db.config.database_url.as_deref().expect("test database url"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cur-gateway import")
}

#[tokio::test]
async fn a_csv_with_good_and_bad_rows_imports_the_good_ones_once() {
    let app = TestApp::spawn_with(Backend::Postgres, 10, 7).await;
    let file = std::env::temp_dir().join(format!("cur_import_{}.csv", std::process::id()));
    std::fs::write(&file, CSV).expect("write csv");
    let before = app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await;

    let out = import(&app, &file, "HOTLINE_122");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{summary}{}", String::from_utf8_lossy(&out.stderr));
    assert!(summary.contains("imported 9 rows"), "{summary}");
    assert!(summary.contains("3 created, 1 duplicates, 5 rejected"), "{summary}");
    for reason in [
        "text is empty",
        "unknown municipality \"Атлантида\"",
        "future",
        "RFC 3339",
        "lat \"north\"",
    ] {
        assert!(summary.contains(reason), "{reason} in {summary}");
    }
    assert_eq!(app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await, before + 3);
    let rows = app
        .db
        .sql_column::<String>("SELECT category FROM complaint WHERE source = 'HOTLINE_122' AND external_id IN ('122-001', '122-002', '122-007', '122-008') ORDER BY external_id", vec![])
        .await;
    assert_eq!(rows, ["HOUSING_UTILITIES", "TRANSPORT", "HEALTHCARE"], "given, then classified");
    let text = app
        .db
        .sql_column::<String>("SELECT text FROM complaint WHERE external_id = '122-002'", vec![])
        .await;
    assert!(
        text[0].contains("№21 не ходит с утра,\nлюди"),
        "quoted fields keep commas and newlines"
    );
    let received = app
        .db
        .sql_column::<chrono::DateTime<chrono::Utc>>(
            "SELECT received_at FROM complaint WHERE external_id = '122-001'",
            vec![],
        )
        .await;
    assert_eq!(received[0].to_rfc3339(), "2026-11-27T04:15:00+00:00");

    // The same file again: nothing new.
    let out = import(&app, &file, "HOTLINE_122");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("0 created, 4 duplicates, 5 rejected"), "{summary}");
    assert_eq!(app.db.sql_i64("SELECT COUNT(*) FROM complaint", vec![]).await, before + 3);

    // Another source is another identity; an unknown source is refused.
    let out = import(&app, &file, "fax");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown source"));
    let _ = std::fs::remove_file(&file);
}
