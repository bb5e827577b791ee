//! The API test fixture: an in-process router over a fresh SQLite or PostgreSQL database
//! (PostgreSQL must answer unless BRIDGE_TEST_PG=skip), the demo province and accounts.
#![allow(dead_code, unused_imports)]

// Compiled here as well as in the binary, so the API is tested without touching main.rs.
#[path = "../../src/api/mod.rs"]
pub mod api;

pub use std::sync::Arc;

pub use axum::Router;
pub use axum::body::Body;
pub use axum::http::{Request, StatusCode, header};
pub use bridge_scheduler::accounts::NewUser;
pub use bridge_scheduler::documents::DocumentStore;
pub use bridge_scheduler::{Db, Role, UnitCode};
pub use bridge_token::TokenKey;
pub use serde_json::{Value, json};
pub use sqlx::Connection;
pub use time::OffsetDateTime;
pub use tower::ServiceExt;

/// Monday 2026-03-02 08:00 in Hà Nội.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_772_413_200).unwrap()
}

pub fn data(name: &str) -> std::path::PathBuf {
    // The reference unit trees ship with the scheduler crate.
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scheduler/units")
        .join(name)
}

pub struct Fixture {
    pub app: Router,
    /// Where uploaded documents land (deleted with the fixture).
    pub docs: tempfile::TempDir,
}

/// Documents limit in the fixture: small, so the over-limit case is cheap.
pub const TEST_UPLOAD_LIMIT: u64 = 2 * 1024 * 1024;

impl Fixture {
    pub async fn new(db: Db) -> Fixture {
        db.import_units(std::fs::File::open(data("units-phu-tho.csv")).unwrap())
            .await
            .unwrap();
        for (name, role, unit) in [
            ("admin", Role::Administrator, None),
            ("vp.tinh", Role::Secretary, Some("25")),
            ("vp.viettri", Role::Secretary, Some("227")),
            ("ct.tinh", Role::Chair, Some("25")),
            ("site.07888", Role::Site, Some("07888")),
            ("site.07894", Role::Site, Some("07894")),
        ] {
            db.create_user(
                NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    password: "mật khẩu dài".into(),
                    role,
                    unit: unit.map(|u| UnitCode::parse(u).unwrap()),
                },
                now(),
            )
            .await
            .unwrap();
        }
        let mut st = api::ApiState::new(
            db,
            TokenKey::from_secret(&[9u8; 32]),
            "https://bridge.test/",
        );
        st.clock = Arc::new(now);
        let docs = tempfile::tempdir().unwrap();
        st.documents = Some(DocumentStore::open(docs.path(), TEST_UPLOAD_LIMIT).unwrap());
        Fixture {
            app: Router::new().nest("/api", api::router(st)),
            docs,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 10 << 20).await.unwrap().to_vec();
        (parts.status, parts.headers, bytes)
    }

    pub async fn json(
        &self,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, h, b) = self.call(method, uri, cookie, body).await;
        if !s.is_success() {
            assert_eq!(
                h[header::CONTENT_TYPE],
                "application/problem+json",
                "{s} {}",
                String::from_utf8_lossy(&b)
            );
        }
        (
            s,
            if b.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&b).unwrap()
            },
        )
    }

    /// Logs in and returns the `Cookie:` header value.
    pub async fn login(&self, user: &str) -> String {
        let (s, h, _) = self
            .call(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({"username": user, "password": "mật khẩu dài"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let set = h[header::SET_COOKIE].to_str().unwrap().to_owned();
        set.split(';').next().unwrap().to_owned()
    }
}

pub fn meeting(title: &str, organizer: &str, units: &[&str], start_h: i64) -> Value {
    let start = now() + time::Duration::hours(start_h);
    let fmt = &time::format_description::well_known::Rfc3339;
    json!({
        "title": title,
        "agenda": ["Khai mạc"],
        "organizer": organizer,
        "starts_at": start.format(fmt).unwrap(),
        "ends_at": (start + time::Duration::hours(1)).format(fmt).unwrap(),
        "participants": units.iter().map(|u| json!({"type": "unit", "code": u})).collect::<Vec<_>>(),
    })
}

pub async fn run_sqlite(body: impl AsyncFnOnce(Fixture)) {
    with_sqlite(async move |db| body(Fixture::new(db).await).await).await
}

pub async fn run_postgres(body: impl AsyncFnOnce(Fixture)) {
    with_postgres(async move |db| body(Fixture::new(db).await).await).await
}

/// A scratch SQLite database in a temporary directory, closed afterwards.
pub async fn with_sqlite(body: impl AsyncFnOnce(Db)) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite_file(&dir.path().join("bridge.db"))
        .await
        .unwrap();
    body(db.clone()).await;
    db.close().await;
}

/// A scratch PostgreSQL database at `BRIDGE_TEST_PG_URL`, dropped afterwards (even when
/// `body` panics); with `BRIDGE_TEST_PG=skip` and no server, `body` does not run.
pub async fn with_postgres(body: impl AsyncFnOnce(Db)) {
    let url = std::env::var("BRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = match sqlx::PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(_) if std::env::var("BRIDGE_TEST_PG").as_deref() == Ok("skip") => return,
        Err(e) => {
            panic!("PostgreSQL at {url} does not answer ({e}); set BRIDGE_TEST_PG=skip to skip")
        }
    };
    let name = format!("api_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = url.rsplit_once('/').unwrap().0;
    let db = Db::connect(&format!("{base}/{name}")).await.unwrap();
    // A panic inside `body` still drops the scratch database via the guard below.
    struct Drop_(Option<(sqlx::PgConnection, String)>);
    impl Drop for Drop_ {
        fn drop(&mut self) {
            if let Some((mut c, n)) = self.0.take() {
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"))
                            .execute(&mut c)
                            .await
                    })
                })
                .join();
            }
        }
    }
    let _guard = Drop_(Some((admin, name)));
    body(db.clone()).await;
    db.close().await;
}

#[macro_export]
macro_rules! both_dbs {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run_sqlite($body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run_postgres($body).await
            }
        }
    };
}
