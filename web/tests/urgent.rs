//! Urgent calls through the REST API, on SQLite and PostgreSQL: the calls a unit has not
//! acknowledged (what its dashboard shows on every load), the acknowledgement reaching
//! every screen of the unit and the organizer, the call's start offset and place, and the
//! dry run behind the office's confirmation.

mod common;
use common::*;
use std::sync::atomic::{AtomicI64, Ordering};

/// The standard fixture (demo province, accounts) with a clock the test moves on:
/// `clock.store(seconds)` puts the API that far past [`now`].
async fn fixture_with_clock(db: Db) -> (Fixture, Arc<AtomicI64>) {
    let base = Fixture::new(db.clone()).await;
    let clock = Arc::new(AtomicI64::new(0));
    let mut st = api::ApiState::new(
        db,
        TokenKey::from_secret(&[9u8; 32]),
        "https://bridge.test/",
    );
    let shift = clock.clone();
    st.clock = Arc::new(move || now() + time::Duration::seconds(shift.load(Ordering::Relaxed)));
    let f = Fixture {
        app: Router::new().nest("/api", api::router(st)),
        docs: base.docs,
    };
    (f, clock)
}

/// One test on SQLite and on PostgreSQL, with a movable clock.
macro_rules! both_dbs_with_clock {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_sqlite(async |db| {
                    let (f, clock) = fixture_with_clock(db).await;
                    ($body)(f, clock).await
                })
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_postgres(async |db| {
                    let (f, clock) = fixture_with_clock(db).await;
                    ($body)(f, clock).await
                })
                .await
            }
        }
    };
}

fn urgent(title: &str, units: &[&str]) -> Value {
    json!({
        "title": title,
        "organizer": "25",
        "participants": units.iter().map(|u| json!({"type": "unit", "code": u})).collect::<Vec<_>>(),
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn call(f: &Fixture, cookie: &str, body: Value) -> String {
    let (s, out) = f
        .json("POST", "/api/meetings/urgent", Some(cookie), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    out["meeting"]["id"].as_str().unwrap().to_owned()
}

async fn pending(f: &Fixture, cookie: &str, unit: &str) -> Vec<Value> {
    let (s, list) = f
        .json(
            "GET",
            &format!("/api/units/{unit}/pending-urgent"),
            Some(cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

both_dbs_with_clock!(
    pending_calls_until_the_unit_acknowledges,
    async |f: Fixture, clock: Arc<AtomicI64>| {
        let sec = f.login("vp.tinh").await;
        let site = f.login("site.07888").await;
        let other = f.login("site.07894").await;
        let mut body = urgent("Họp khẩn phòng chống bão số 3", &["07888", "07894"]);
        body["delay_minutes"] = json!(15);
        body["location"] = json!("  Hội trường tầng 3, UBND tỉnh ");
        let id = call(&f, &sec, body).await;
        // An ordinary meeting is never an alert.
        let (s, _) = f
            .json(
                "POST",
                "/api/meetings",
                Some(&sec),
                Some(meeting("Giao ban tuần", "25", &["07888"], 3)),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);

        // A hall that opens its dashboard after the call still gets it, with place and start.
        let list = pending(&f, &site, "07888").await;
        assert_eq!(list.len(), 1, "{list:?}");
        let p = &list[0];
        assert_eq!(p["meeting"], id.as_str());
        assert_eq!(p["title"], "Họp khẩn phòng chống bão số 3");
        assert_eq!(p["location"], "Hội trường tầng 3, UBND tỉnh");
        assert_eq!(p["organizer"], "25");
        assert_eq!(p["organizer_name"], "Tỉnh Phú Thọ");
        assert_eq!(p["starts_at"], rfc3339(now() + time::Duration::minutes(15)));
        // Another unit's list is not for this hall; the organizer's own unit is not asked.
        let (s, _) = f
            .json("GET", "/api/units/07888/pending-urgent", Some(&other), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(pending(&f, &sec, "25").await.is_empty());

        // The acknowledgement is stored for the unit, with its time, once.
        clock.store(60, Ordering::Relaxed);
        let (s, a) = f
            .json(
                "POST",
                &format!("/api/meetings/{id}/ack/07888"),
                Some(&site),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!(a["acknowledged"], "Now");
        let at = rfc3339(now() + time::Duration::seconds(60));
        assert_eq!(a["acknowledged_at"], at.as_str());
        clock.store(120, Ordering::Relaxed);
        let (_, again) = f
            .json(
                "POST",
                &format!("/api/meetings/{id}/ack/07888"),
                Some(&site),
                None,
            )
            .await;
        assert_eq!(again["acknowledged"], "Already");
        assert_eq!(
            again["acknowledged_at"],
            at.as_str(),
            "the first time stays"
        );
        assert!(pending(&f, &site, "07888").await.is_empty());
        assert_eq!(pending(&f, &other, "07894").await.len(), 1);
        // The dashboard's list says when.
        let (_, up) = f
            .json("GET", "/api/units/07888/upcoming", Some(&site), None)
            .await;
        let row = up
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["meeting"] == id.as_str())
            .unwrap();
        assert_eq!(row["acknowledged"], true);
        assert_eq!(row["acknowledged_at"], at.as_str());
        // The office's view of the call: 07888 acknowledged, 07894 not yet.
        let (_, view) = f
            .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
            .await;
        let acked: Vec<(&str, bool)> = view["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["unit"].as_str().unwrap(), !i["acknowledged_at"].is_null()))
            .collect();
        assert_eq!(
            acked,
            [("25", true), ("07888", true), ("07894", false)],
            "{view}"
        );

        // A cancelled call is no longer pending; nor is one that is over.
        let second = call(&f, &sec, urgent("Khẩn: kiểm tra đê", &["07894"])).await;
        assert_eq!(pending(&f, &other, "07894").await.len(), 2);
        let (s, _) = f
            .json(
                "POST",
                &format!("/api/meetings/{second}/cancel"),
                Some(&sec),
                Some(json!({"version": 0})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(pending(&f, &other, "07894").await.len(), 1);
        // 15 minutes' delay + 60 minutes' length: over after 75 minutes.
        clock.store(75 * 60, Ordering::Relaxed);
        assert!(pending(&f, &other, "07894").await.is_empty());
    }
);

/// Reads SSE frames (skipping keep-alive comments) until one arrives or `secs` pass.
async fn next_event(body: &mut axum::body::BodyDataStream, secs: u64) -> Option<Value> {
    use futures_util::StreamExt;
    let deadline = std::time::Duration::from_secs(secs);
    loop {
        let chunk = tokio::time::timeout(deadline, body.next())
            .await
            .ok()??
            .ok()?;
        let text = String::from_utf8_lossy(&chunk).into_owned();
        if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
            return serde_json::from_str(data).ok();
        }
    }
}

both_dbs!(
    acknowledgement_reaches_every_screen_of_the_unit_and_the_organizer,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = call(&f, &sec, urgent("Họp khẩn chống lũ", &["07888", "07894"])).await;
        // Two screens of 07888 (two sign-ins), the office, and 07894, all opened after.
        let hall_a = f.login("site.07888").await;
        let hall_b = f.login("site.07888").await;
        let other = f.login("site.07894").await;
        let open = |cookie: String, unit: &str| {
            let req = Request::builder()
                .uri(format!("/api/units/{unit}/events"))
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            let app = f.app.clone();
            async move {
                let res = app.oneshot(req).await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                res.into_body().into_data_stream()
            }
        };
        let mut a = open(hall_a.clone(), "07888").await;
        let mut b = open(hall_b, "07888").await;
        let mut office = open(sec, "25").await;
        let mut theirs = open(other, "07894").await;

        let (s, _) = f
            .json(
                "POST",
                &format!("/api/meetings/{id}/ack/07888"),
                Some(&hall_a),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        for (who, stream) in [
            ("screen A", &mut a),
            ("screen B", &mut b),
            ("office", &mut office),
        ] {
            let ev = next_event(stream, 2)
                .await
                .unwrap_or_else(|| panic!("{who}: no event"));
            assert_eq!(ev["kind"], "acknowledged", "{who}: {ev}");
            assert_eq!(ev["meeting"], id.as_str(), "{who}");
            assert_eq!(ev["unit"], "07888", "{who}");
            assert_eq!(ev["acknowledged_at"], rfc3339(now()).as_str(), "{who}");
        }
        assert!(
            next_event(&mut theirs, 1).await.is_none(),
            "07894 hears nothing of 07888's acknowledgement"
        );
        // A repeated acknowledgement changes nothing and tells nobody again.
        f.json(
            "POST",
            &format!("/api/meetings/{id}/ack/07888"),
            Some(&hall_a),
            None,
        )
        .await;
        assert!(next_event(&mut b, 1).await.is_none());
    }
);

both_dbs!(urgent_call_start_place_and_dry_run, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let site = f.login("site.07888").await;

    // A hall's account is refused before its body is even read.
    for path in ["/api/meetings/urgent", "/api/meetings/urgent/preview"] {
        let (s, p) = f
            .json("POST", path, Some(&site), Some(json!({"nonsense": true})))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {p}");
    }

    // The dry run: three wards called, the province (organizer) not counted; nothing
    // saved, nobody alerted.
    let mut body = urgent("Họp khẩn", &["07888", "07894", "07900"]);
    body["delay_minutes"] = json!(30);
    let (s, pre) = f
        .json(
            "POST",
            "/api/meetings/urgent/preview",
            Some(&sec),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pre}");
    assert_eq!(pre["count"], 3);
    assert_eq!(pre["names"].as_array().unwrap().len(), 3);
    assert_eq!(
        pre["starts_at"],
        rfc3339(now() + time::Duration::minutes(30))
    );
    assert!(pending(&f, &site, "07888").await.is_empty());
    let (_, up) = f
        .json("GET", "/api/units/07888/upcoming", Some(&site), None)
        .await;
    assert!(up.as_array().unwrap().is_empty(), "{up}");
    // All communes of the province: 207, five names shown.
    let all = json!({"title": "Khẩn", "organizer": "25",
            "participants": [{"type": "descendants_at_level", "code": "25", "level": 3}]});
    let (s, pre) = f
        .json(
            "POST",
            "/api/meetings/urgent/preview",
            Some(&sec),
            Some(all),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pre}");
    assert_eq!(pre["count"], 207);
    assert_eq!(pre["names"].as_array().unwrap().len(), 5);

    // Place: trimmed and stored; too long is refused in both languages, for the dry
    // run as for the call.
    body["location"] = json!("x".repeat(301));
    for path in ["/api/meetings/urgent", "/api/meetings/urgent/preview"] {
        let (s, p) = f.json("POST", path, Some(&sec), Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {p}");
        assert!(p["detail"].as_str().unwrap().contains("location"), "{p}");
        assert!(p["detail_vi"].as_str().unwrap().contains("địa điểm"), "{p}");
    }
    body["location"] = json!(42);
    let (s, p) = f
        .json(
            "POST",
            "/api/meetings/urgent",
            Some(&sec),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    // A start beyond two hours is refused.
    body["location"] = json!("Phòng họp số 2");
    body["delay_minutes"] = json!(121);
    let (s, p) = f
        .json(
            "POST",
            "/api/meetings/urgent",
            Some(&sec),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail_vi"]
            .as_str()
            .unwrap()
            .contains("thời gian bắt đầu"),
        "{p}"
    );
    body["delay_minutes"] = json!(60);
    let id = call(&f, &sec, body).await;
    let (_, view) = f
        .json("GET", &format!("/api/meetings/{id}"), Some(&site), None)
        .await;
    assert_eq!(view["meeting"]["location"], "Phòng họp số 2");
    assert_eq!(view["meeting"]["urgent"], true);
    assert_eq!(
        view["meeting"]["starts_at"],
        rfc3339(now() + time::Duration::minutes(60))
    );
});
