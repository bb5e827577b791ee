//! Runs one async test body against SQLite (temp file) and PostgreSQL (a fresh database
//! per test, dropped afterwards). PostgreSQL must answer unless BRIDGE_TEST_PG=skip.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;

use bridge_scheduler::Db;
use sqlx::Connection;

pub fn data_file(name: &str) -> PathBuf {
    // The reference unit trees ship with the crate (scheduler/units/).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("units")
        .join(name);
    assert!(path.exists(), "unit file {} is missing", path.display());
    path
}

pub async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite_file(&dir.path().join("data/bridge.db"))
        .await
        .unwrap();
    let res = tokio::spawn(body(db.clone())).await;
    db.close().await;
    if let Err(e) = res {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn pg_admin_url() -> String {
    std::env::var("BRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = pg_admin_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) if std::env::var("BRIDGE_TEST_PG").as_deref() == Ok("skip") => {
            eprintln!("PostgreSQL not reachable ({e}); skipped because BRIDGE_TEST_PG=skip");
            return;
        }
        Err(e) => panic!(
            "PostgreSQL at {admin_url} does not answer ({e}); set BRIDGE_TEST_PG=skip to skip"
        ),
    };
    let name = format!("sched_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap();
    let db = Db::connect(&format!("{base}/{name}")).await.unwrap();
    let res = tokio::spawn(body(db.clone())).await;
    db.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    if let Err(e) = res {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// `both_dbs!(name, |db| async move { ... });` defines `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_dbs {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_sqlite($body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run_postgres($body).await
            }
        }
    };
}

pub async fn phu_tho(db: &Db) {
    let f = std::fs::File::open(data_file("units-phu-tho.csv")).unwrap();
    db.import_units(f).await.unwrap();
}

use bridge_scheduler::accounts::NewUser;
use bridge_scheduler::units::UnitSelector;
use bridge_scheduler::{MeetingDraft, Principal, Role, UnitCode};
use time::{Duration, OffsetDateTime};

/// A fixed "now": Monday 2026-03-02 08:00 in Hà Nội (01:00 UTC).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_772_413_200).unwrap()
}

pub fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

pub async fn user(db: &Db, name: &str, role: Role, unit: Option<&str>) -> Principal {
    let u = db
        .create_user(
            NewUser {
                username: name.into(),
                display_name: name.into(),
                password: "mật khẩu dài".into(),
                role,
                unit: unit.map(code),
            },
            now(),
        )
        .await
        .unwrap();
    db.principal(u.id).await.unwrap()
}

pub fn draft(
    title: &str,
    organizer: &str,
    sel: Vec<UnitSelector>,
    start_in_h: i64,
    hours: i64,
) -> MeetingDraft {
    MeetingDraft {
        title: title.into(),
        agenda: vec!["Khai mạc".into(), "Thảo luận".into()],
        organizer: code(organizer),
        chair: None,
        location: "Hội trường UBND tỉnh".into(),
        starts_at: now() + Duration::hours(start_in_h),
        ends_at: now() + Duration::hours(start_in_h + hours),
        urgent: false,
        participants: sel,
        recurrence: None,
        record: false,
    }
}

pub fn unit_sel(c: &str) -> UnitSelector {
    UnitSelector::Unit { code: code(c) }
}
