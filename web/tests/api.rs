//! REST API of the scheduler (web/src/api) over an in-process router, on SQLite and
//! PostgreSQL (PostgreSQL must answer unless BRIDGE_TEST_PG=skip).

mod common;
use common::*;

both_dbs!(login_cookie_and_logout, async |f: Fixture| {
    let (s, h, _) = f
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": "vp.tinh", "password": "mật khẩu dài"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let set = h[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("bridge_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap();
    let (s, me) = f.json("GET", "/api/me", Some(cookie), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            me["username"].as_str(),
            me["role"].as_str(),
            me["unit"].as_str()
        ),
        (Some("vp.tinh"), Some("secretary"), Some("25"))
    );

    let (s, p) = f
        .json(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": "vp.tinh", "password": "sai"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(p["title_vi"], "Sai tên đăng nhập hoặc mật khẩu");
    assert_eq!(p["status"], 401);

    let (s, _) = f.json("POST", "/api/auth/logout", Some(cookie), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, p) = f.json("GET", "/api/me", Some(cookie), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(p["code"], "unauthenticated");
    let (s, _) = f.json("GET", "/api/units", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
});

both_dbs!(meeting_flow_and_forbidden_requests, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let (s, units) = f
        .json("GET", "/api/units/25/subtree?level=2", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(units.as_array().unwrap().len(), 13);

    let (s, out) = f
        .json(
            "POST",
            "/api/meetings",
            Some(&sec),
            Some(meeting("Giao ban", "25", &["07888"], 2)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let id = out["meeting"]["id"].as_str().unwrap().to_owned();
    assert_eq!(out["invited"], 2);

    let site = f.login("site.07888").await;
    let (s, up) = f
        .json("GET", "/api/units/07888/upcoming", Some(&site), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(up[0]["title"], "Giao ban");
    let (s, ack) = f
        .json(
            "POST",
            &format!("/api/meetings/{id}/ack/07888"),
            Some(&site),
            None,
        )
        .await;
    assert_eq!(
        (s, ack["acknowledged"].as_str()),
        (StatusCode::OK, Some("Now"))
    );
    let (_, view) = f
        .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
        .await;
    let acked: Vec<&str> = view["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["acknowledged_at"].is_null())
        .map(|i| i["unit"].as_str().unwrap())
        .collect();
    // The organizer (the province, 25) counts as acknowledged from the start.
    assert_eq!(acked.len(), 2, "{acked:?}");
    assert!(acked.contains(&"07888") && acked.contains(&"25"));

    // Forbidden requests get 403 and change nothing.
    let other = f.login("site.07894").await;
    let (s, p) = f
        .json("GET", &format!("/api/meetings/{id}"), Some(&other), None)
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(p["title_vi"], "Không có quyền");
    let (s, _) = f
        .json(
            "POST",
            &format!("/api/meetings/{id}/ack/07888"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = f
        .json(
            "POST",
            &format!("/api/meetings/{id}/cancel"),
            Some(&site),
            Some(json!({"version": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let vt = f.login("vp.viettri").await;
    let (s, _) = f
        .json(
            "POST",
            "/api/meetings",
            Some(&vt),
            Some(meeting("Ngoài phạm vi", "227", &["228"], 2)),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, up) = f
        .json("GET", "/api/units/228/upcoming", Some(&sec), None)
        .await;
    assert_eq!(up.as_array().unwrap().len(), 0);
    let (_, view) = f
        .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
        .await;
    assert_eq!(
        (
            view["meeting"]["version"].as_i64(),
            view["meeting"]["cancelled"].as_bool()
        ),
        (Some(0), Some(false))
    );

    // Week view of the site lists the meeting; a bad window is a problem document.
    let (s, week) = f
        .json(
            "GET",
            "/api/meetings?from=2026-03-02T00:00:00%2B07:00&to=2026-03-09T00:00:00%2B07:00",
            Some(&site),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(week.as_array().unwrap().len(), 1);
    assert_eq!(week[0]["acknowledged"], true);
    let (s, _) = f
        .json(
            "GET",
            "/api/meetings?from=yesterday&to=2026-03-09T00:00:00Z",
            Some(&site),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, week) = f
        .json(
            "GET",
            "/api/meetings?from=2026-03-02T00:00:00Z&to=2026-03-09T00:00:00Z",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(week.as_array().unwrap().len(), 0);

    // Join link for the invited unit, verified by the token crate.
    let (s, j) = f
        .json(
            "GET",
            &format!("/api/meetings/{id}/join/07888"),
            Some(&site),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let url = j["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://bridge.test/r/m-{id}?t=")),
        "{url}"
    );
    let token = url.split("?t=").nth(1).unwrap();
    let start = now().unix_timestamp() as u64 + 2 * 3600;
    let c = TokenKey::from_secret(&[9u8; 32])
        .verify(token, Some(&format!("m-{id}")), start)
        .unwrap();
    assert_eq!(c.unit.as_deref(), Some("07888"));
});

both_dbs!(
    bad_input_conflicts_and_limits_are_problem_details,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let (_, out) = f
            .json(
                "POST",
                "/api/meetings",
                Some(&sec),
                Some(meeting("Bản đầu", "25", &["07888"], 2)),
            )
            .await;
        let id = out["meeting"]["id"].as_str().unwrap().to_owned();
        let upd = |title: &str, v: i64| json!({"version": v, "meeting": meeting(title, "25", &["07888"], 3)});
        let (s, _) = f
            .json(
                "PUT",
                &format!("/api/meetings/{id}"),
                Some(&sec),
                Some(upd("Sửa 1", 0)),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, p) = f
            .json(
                "PUT",
                &format!("/api/meetings/{id}"),
                Some(&sec),
                Some(upd("Sửa cũ", 0)),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("conflict"))
        );
        assert!(
            p["detail_vi"]
                .as_str()
                .unwrap()
                .contains("phiên bản hiện tại là 1")
        );
        let (_, view) = f
            .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
            .await;
        assert_eq!(view["meeting"]["title"], "Sửa 1");

        let mut bad = meeting("Ngược giờ", "25", &["07888"], 2);
        bad["ends_at"] = bad["starts_at"].clone();
        let (s, p) = f.json("POST", "/api/meetings", Some(&sec), Some(bad)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
        );
        assert!(
            p["detail_vi"]
                .as_str()
                .unwrap()
                .contains("thời gian kết thúc")
        );

        let (s, p) = f
            .json(
                "POST",
                "/api/meetings",
                Some(&sec),
                Some(meeting("X", "25", &["07888", "99999"], 2)),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_units"))
        );
        assert_eq!(p["items"], json!(["99999"]));

        // 100 KB agenda: within the body limit, over the agenda limit.
        let mut big = meeting("Dài", "25", &["07888"], 2);
        big["agenda"] = json!(["x".repeat(100 * 1024)]);
        let (s, p) = f.json("POST", "/api/meetings", Some(&sec), Some(big)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
        );
        // 10 MB: refused by the body limit before parsing.
        let mut huge = meeting("Rất dài", "25", &["07888"], 2);
        huge["agenda"] = json!(["x".repeat(10 * 1024 * 1024)]);
        let (s, p) = f
            .json("POST", "/api/meetings", Some(&sec), Some(huge))
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
        );
        let (s, p) = f
            .json(
                "POST",
                "/api/meetings",
                Some(&sec),
                Some(json!({"title": 5})),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_json"))
        );
        let (_, up) = f
            .json("GET", "/api/units/07888/upcoming", Some(&sec), None)
            .await;
        assert_eq!(
            up.as_array().unwrap().len(),
            1,
            "only the first meeting exists"
        );
    }
);

both_dbs!(urgent_and_ics_download, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let (s, out) = f
        .json(
            "POST",
            "/api/meetings/urgent",
            Some(&sec),
            Some(json!({"title": "Họp khẩn, chống lũ", "organizer": "25", "participants": [{"type": "children_of", "code": "227"}], "delay_minutes": 5})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    assert_eq!(out["meeting"]["urgent"], true);
    let id = out["meeting"]["id"].as_str().unwrap().to_owned();
    let site = f.login("site.07888").await;
    let (s, h, body) = f
        .call("GET", &format!("/api/meetings/{id}/ics"), Some(&site), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = String::from_utf8(body).unwrap();
    let cal = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()))
        .next()
        .unwrap()
        .unwrap();
    let get = |props: &[ical::property::Property], n: &str| {
        props
            .iter()
            .find(|p| p.name == n)
            .and_then(|p| p.value.clone())
            .unwrap()
    };
    assert_eq!(get(&cal.properties, "METHOD"), "REQUEST");
    let ev = &cal.events[0].properties;
    assert_eq!(get(ev, "PRIORITY"), "1");
    assert_eq!(get(ev, "SUMMARY"), "Họp khẩn\\, chống lũ");
    assert_eq!(get(ev, "DTSTART"), "20260302T080500");
    assert!(get(ev, "URL").starts_with(&format!("https://bridge.test/r/m-{id}?t=")));
    assert_eq!(get(ev, "ATTENDEE"), "mailto:unit-07888@bridge.invalid");

    let (s, _) = f
        .json(
            "POST",
            &format!("/api/meetings/{id}/cancel"),
            Some(&sec),
            Some(json!({"version": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, body) = f
        .call("GET", &format!("/api/meetings/{id}/ics"), Some(&site), None)
        .await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("METHOD:CANCEL\r\n")
            && text.contains("SEQUENCE:1\r\n")
            && !text.contains("URL:")
    );
});

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite_file(&dir.path().join("bridge.db"))
        .await
        .unwrap();
    let f = Fixture::new(db).await;
    let (s, doc) = f.json("GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/meetings",
        "/meetings/{id}",
        "/meetings/urgent",
        "/meetings/{id}/ics",
        "/auth/login",
        "/units/{code}/upcoming",
    ] {
        assert!(doc["paths"].get(p).is_some(), "missing {p}");
    }
    assert!(doc["components"]["schemas"].get("MeetingDraft").is_some());
    assert!(doc["components"]["schemas"].get("Problem").is_some());
}

/// Reads the next SSE frame that is not a keep-alive comment, within `secs`.
async fn next_event(body: &mut axum::body::BodyDataStream, secs: u64) -> Option<String> {
    use futures_util::StreamExt;
    let deadline = std::time::Duration::from_secs(secs);
    loop {
        let chunk = tokio::time::timeout(deadline, body.next())
            .await
            .ok()??
            .ok()?;
        let text = String::from_utf8_lossy(&chunk).into_owned();
        if !text.trim_start().starts_with(':') {
            return Some(text);
        }
    }
}

both_dbs!(
    urgent_alert_reaches_open_dashboards_only,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let site = f.login("site.07888").await;
        let other = f.login("site.07894").await;
        let open = |cookie: String, unit: &str| {
            let req = Request::builder()
                .uri(format!("/api/units/{unit}/events"))
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            let app = f.app.clone();
            async move { app.oneshot(req).await.unwrap() }
        };
        // Following another unit is forbidden.
        assert_eq!(
            open(other.clone(), "07888").await.status(),
            StatusCode::FORBIDDEN
        );
        let res = open(site.clone(), "07888").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut mine = res.into_body().into_data_stream();
        let mut theirs = open(other.clone(), "07894")
            .await
            .into_body()
            .into_data_stream();

        let urgent = |title: &str, unit: &str| json!({"title": title, "organizer": "25", "participants": [{"type": "unit", "code": unit}]});
        // An alert for another commune first: it must not reach 07888's dashboard.
        let (s, _) = f
            .json(
                "POST",
                "/api/meetings/urgent",
                Some(&sec),
                Some(urgent("Chỉ xã 07894", "07894")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let t = std::time::Instant::now();
        let (s, out) = f
            .json(
                "POST",
                "/api/meetings/urgent",
                Some(&sec),
                Some(urgent("Họp khẩn chống lũ", "07888")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let frame = next_event(&mut mine, 1)
            .await
            .expect("alert within one second");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(frame.starts_with("event: meeting\n"), "{frame}");
        let data: Value = serde_json::from_str(
            frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(data["title"], "Họp khẩn chống lũ");
        assert_eq!(data["urgent"], true);
        assert_eq!(data["kind"], "created");
        assert_eq!(data["meeting"], out["meeting"]["id"]);
        // 07894's dashboard got its own alert, and only that one.
        let frame = next_event(&mut theirs, 1).await.unwrap();
        assert!(frame.contains("Chỉ xã 07894"));
        // Cancelling is announced as well.
        let id = out["meeting"]["id"].as_str().unwrap();
        f.json(
            "POST",
            &format!("/api/meetings/{id}/cancel"),
            Some(&sec),
            Some(json!({"version": 0})),
        )
        .await;
        let frame = next_event(&mut mine, 1).await.unwrap();
        assert!(frame.contains("\"kind\":\"cancelled\""), "{frame}");
        assert!(
            next_event(&mut theirs, 1).await.is_none(),
            "07894 must not hear about 07888's meeting"
        );
    }
);

/// Figure, not a check: `cargo test -p bridge-web --test api -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn figure_urgent_fan_out_to_221_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new(
        Db::open_sqlite_file(&dir.path().join("bridge.db"))
            .await
            .unwrap(),
    )
    .await;
    let admin = f.login("vp.tinh").await;
    let (_, units) = f
        .json("GET", "/api/units/25/subtree", Some(&admin), None)
        .await;
    let mut streams = Vec::new();
    for u in units.as_array().unwrap() {
        let req = Request::builder()
            .uri(format!("/api/units/{}/events", u["code"].as_str().unwrap()))
            .header(header::COOKIE, admin.clone())
            .body(Body::empty())
            .unwrap();
        streams.push(
            f.app
                .clone()
                .oneshot(req)
                .await
                .unwrap()
                .into_body()
                .into_data_stream(),
        );
    }
    assert_eq!(streams.len(), 221);
    let t = std::time::Instant::now();
    let body = json!({"title": "Khẩn", "organizer": "25", "participants": [{"type": "subtree", "code": "25"}]});
    let (s, _) = f
        .json("POST", "/api/meetings/urgent", Some(&admin), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let saved = t.elapsed();
    let waits = streams
        .iter_mut()
        .map(|s| async move { next_event(s, 5).await.is_some() });
    let got = futures_util::future::join_all(waits).await;
    assert!(got.iter().all(|g| *g));
    println!(
        "urgent session for 221 units: saved in {saved:?}, all 221 dashboards alerted after {:?}",
        t.elapsed()
    );
}

both_dbs!(
    chairs_offered_to_the_scheduling_secretary,
    async |f: Fixture| {
        // The province's chair may chair a Việt Trì meeting too; Việt Trì has none of its own.
        for (user, unit, want) in [("vp.tinh", "25", 1), ("vp.viettri", "227", 1)] {
            let c = f.login(user).await;
            let (s, list) = f
                .json("GET", &format!("/api/units/{unit}/chairs"), Some(&c), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{user}: {list}");
            let names: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap())
                .collect();
            assert_eq!(names.len(), want, "{user}: {names:?}");
            assert_eq!(names[0], "ct.tinh");
        }
        // A hall and a district secretary outside the province office may not list them.
        for (user, unit) in [("site.07888", "07888"), ("vp.viettri", "25")] {
            let c = f.login(user).await;
            let (s, _) = f
                .json("GET", &format!("/api/units/{unit}/chairs"), Some(&c), None)
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{user} for {unit}");
        }
    }
);
