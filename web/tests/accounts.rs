//! Accounts after they exist, over the in-process API router on SQLite and PostgreSQL:
//! a signed-in user changes their password (other sessions end), an administrator
//! disables and enables an account (sessions and API tokens stop at once), sessions end
//! after an idle hour here (8 h by default) and at their absolute end, and the node's
//! detailed health is for administrators only.

mod common;
use common::*;
use std::sync::atomic::{AtomicI64, Ordering};

use bridge_scheduler::accounts::SessionPolicy;

/// The fixture's accounts and router, with a clock the test moves (seconds added to
/// [`now`]) and sessions that end after 1 h idle or 3 h in all.
async fn setup(db: Db) -> (Fixture, Arc<AtomicI64>) {
    let base = Fixture::new(db.clone()).await;
    let offset = Arc::new(AtomicI64::new(0));
    let db = db.with_session_policy(SessionPolicy {
        idle: 3600,
        max: 3 * 3600,
    });
    let mut st = api::ApiState::new(
        db,
        TokenKey::from_secret(&[9u8; 32]),
        "https://bridge.test/",
    );
    let clock = offset.clone();
    st.clock = Arc::new(move || now() + time::Duration::seconds(clock.load(Ordering::SeqCst)));
    let app = Router::new().nest("/api", api::router(st));
    (
        Fixture {
            app,
            docs: base.docs,
        },
        offset,
    )
}

macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_sqlite($body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_postgres($body).await
            }
        }
    };
}

async fn status(f: &Fixture, req: Request<Body>) -> StatusCode {
    let res: axum::response::Response = f.app.clone().oneshot(req).await.unwrap();
    res.status()
}

const OLD: &str = "mật khẩu dài";
const NEW: &str = "mật khẩu mới của tỉnh";

async fn login_with(f: &Fixture, user: &str, password: &str) -> (StatusCode, Value) {
    f.json(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await
}

async fn me(f: &Fixture, cookie: &str) -> StatusCode {
    f.json("GET", "/api/me", Some(cookie), None).await.0
}

both!(
    a_user_changes_their_password_and_other_sessions_end,
    async |db: Db| {
        let (f, _) = setup(db).await;
        let here = f.login("vp.tinh").await;
        let elsewhere = f.login("vp.tinh").await;
        let change =
            |current: &str, new: &str| json!({"current_password": current, "new_password": new});

        let (s, p) = f
            .json("POST", "/api/me/password", None, Some(change(OLD, NEW)))
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let (s, p) = f
            .json(
                "POST",
                "/api/me/password",
                Some(&here),
                Some(change("sai mật khẩu", NEW)),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("wrong_password")),
            "{p}"
        );
        assert_eq!(p["title_vi"], "Mật khẩu hiện tại không đúng");
        let (s, p) = f
            .json(
                "POST",
                "/api/me/password",
                Some(&here),
                Some(change(OLD, "ngắn")),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")),
            "{p}"
        );
        assert!(p["detail_vi"].as_str().unwrap().contains("mật khẩu"), "{p}");
        let (s, _) = f
            .json(
                "POST",
                "/api/me/password",
                Some(&here),
                Some(change(OLD, OLD)),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the same password again"
        );
        // Nothing changed so far: both sessions still work.
        assert_eq!(me(&f, &elsewhere).await, StatusCode::OK);

        let (s, _, body) = f
            .call(
                "POST",
                "/api/me/password",
                Some(&here),
                Some(change(OLD, NEW)),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::NO_CONTENT,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(me(&f, &here).await, StatusCode::OK, "this session stays");
        assert_eq!(
            me(&f, &elsewhere).await,
            StatusCode::UNAUTHORIZED,
            "the others end"
        );
        assert_eq!(
            login_with(&f, "vp.tinh", OLD).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(login_with(&f, "vp.tinh", NEW).await.0, StatusCode::OK);
        // Another account is untouched.
        assert_eq!(login_with(&f, "site.07888", OLD).await.0, StatusCode::OK);
    }
);

both!(
    an_administrator_disables_and_enables_an_account,
    async |db: Db| {
        let (f, _) = setup(db.clone()).await;
        let admin = f.login("admin").await;
        let secretary = f.login("vp.tinh").await;
        let site = f.login("site.07888").await;
        let site_id = db.authenticate("site.07888", OLD).await.unwrap().id;
        let api_token = db
            .create_api_token(site_id, "một cửa", now())
            .await
            .unwrap();
        let bearer = |path: &str| {
            Request::builder()
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {}", api_token.0))
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(status(&f, bearer("/api/me")).await, StatusCode::OK);

        // Only an administrator, and not on their own account.
        let (s, p) = f
            .json(
                "POST",
                "/api/admin/users/site.07888/disable",
                Some(&secretary),
                None,
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        let (s, _) = f
            .json("POST", "/api/admin/users/admin/disable", Some(&admin), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, p) = f
            .json(
                "POST",
                "/api/admin/users/khong-co/disable",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        assert_eq!(me(&f, &site).await, StatusCode::OK);

        let (s, state) = f
            .json(
                "POST",
                "/api/admin/users/SITE.07888/disable",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(state, json!({"username": "site.07888", "disabled": true}));
        // At once: the session, the API token, and a new sign-in with the right password.
        assert_eq!(me(&f, &site).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&f, bearer("/api/me")).await,
            StatusCode::UNAUTHORIZED
        );
        let (s, p) = login_with(&f, "site.07888", OLD).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("account_disabled")),
            "{p}"
        );
        assert_eq!(p["title_vi"], "Tài khoản đã bị khóa");
        // A wrong password still says only that it is wrong.
        assert_eq!(
            login_with(&f, "site.07888", "sai").await.0,
            StatusCode::UNAUTHORIZED
        );

        let (s, state) = f
            .json(
                "POST",
                "/api/admin/users/site.07888/enable",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (s, state["disabled"].as_bool()),
            (StatusCode::OK, Some(false))
        );
        let (s, _) = login_with(&f, "site.07888", OLD).await;
        assert_eq!(s, StatusCode::OK);
        // Its old API token stays revoked: tokens are handed out anew.
        assert_eq!(
            status(&f, bearer("/api/me")).await,
            StatusCode::UNAUTHORIZED
        );
    }
);

both!(a_session_ends_when_idle_and_at_its_end, async |db: Db| {
    let (f, clock) = setup(db).await;
    let at = |minutes: i64| clock.store(minutes * 60, Ordering::SeqCst);
    let (s, h, _) = f
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": "vp.tinh", "password": OLD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let set = h[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("Max-Age=10800"),
        "the cookie ends with the session: {set}"
    );
    let busy = set.split(';').next().unwrap().to_owned();
    let idle = f.login("vp.tinh").await;

    // A request every 50 minutes keeps a session; an hour without one ends it.
    for minutes in [50, 100, 150] {
        at(minutes);
        assert_eq!(me(&f, &busy).await, StatusCode::OK, "at {minutes} min");
    }
    assert_eq!(
        me(&f, &idle).await,
        StatusCode::UNAUTHORIZED,
        "idle since sign-in"
    );
    // However busy, a session ends 3 hours after sign-in.
    at(179);
    assert_eq!(me(&f, &busy).await, StatusCode::OK);
    at(181);
    assert_eq!(me(&f, &busy).await, StatusCode::UNAUTHORIZED);
    // Just under the idle limit is still fine.
    let fresh = f.login("vp.tinh").await;
    at(181 + 59);
    assert_eq!(me(&f, &fresh).await, StatusCode::OK);
});

both!(the_detailed_health_is_for_administrators, async |db: Db| {
    let (f, _) = setup(db).await;
    let (s, _) = f.json("GET", "/api/admin/health", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let secretary = f.login("vp.tinh").await;
    let (s, p) = f
        .json("GET", "/api/admin/health", Some(&secretary), None)
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // An administrator passes the check; this router has no signaling behind it (the
    // detail itself is tested over the real binary, tests/tests/health.rs).
    let admin = f.login("admin").await;
    let (s, p) = f.json("GET", "/api/admin/health", Some(&admin), None).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
});
