//! Dates at and past the edges over the REST API (in-process router, SQLite and
//! PostgreSQL): who may not change a meeting gets 403 whatever its body says; what a
//! secretary asks outside 2000..=2100 (Hà Nội) is a 422 problem in both languages and
//! stores nothing; a row already stored at 9999-12-31 23:59 still gets its .ics,
//! attendance CSV, ZIP, minutes and notice, and the router keeps serving.

mod common;
use common::*;

use std::path::PathBuf;

/// 9999-12-31 23:59:00 UTC (year 10000 in Hà Nội) and the last second `time` holds.
const EDGE_START: i64 = 253_402_300_740;
const EDGE_END: i64 = 253_402_300_799;

/// The common fixture plus the database handle (to force rows) and a data folder (the
/// ZIP route needs one).
struct Env {
    f: Fixture,
    db: Db,
    _data: tempfile::TempDir,
}

async fn env(db: Db) -> Env {
    let base = Fixture::new(db.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let mut st = api::ApiState::new(
        db.clone(),
        TokenKey::from_secret(&[9u8; 32]),
        "https://bridge.test/",
    );
    st.clock = Arc::new(now);
    st.documents = Some(DocumentStore::open(base.docs.path(), TEST_UPLOAD_LIMIT).unwrap());
    st.data_dir = Some(PathBuf::from(data.path()));
    Env {
        f: Fixture {
            app: Router::new().nest("/api", api::router(st)),
            docs: base.docs,
        },
        db,
        _data: data,
    }
}

async fn on_sqlite(body: impl AsyncFnOnce(Env)) {
    with_sqlite(async move |db| body(env(db).await).await).await
}

async fn on_postgres(body: impl AsyncFnOnce(Env)) {
    with_postgres(async move |db| body(env(db).await).await).await
}

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                on_sqlite($body).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                on_postgres($body).await
            }
        }
    };
}

async fn meetings_stored(db: &Db) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM meetings")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

fn urgent(organizer: &str, duration: Value, delay: Value) -> Value {
    json!({
        "title": "Họp khẩn phòng chống bão",
        "organizer": organizer,
        "participants": [{"type": "unit", "code": "07888"}],
        "delay_minutes": delay,
        "duration_minutes": duration,
    })
}

fn timed(start: &str, end: &str) -> Value {
    let mut m = meeting("Họp", "25", &["07888"], 2);
    m["starts_at"] = json!(start);
    m["ends_at"] = json!(end);
    m
}

on_both!(
    callers_without_the_right_get_403_whatever_the_body,
    async |e: Env| {
        let f = &e.f;
        let sec = f.login("vp.tinh").await;
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

        let site = f.login("site.07888").await;
        let chair = f.login("ct.tinh").await;
        let other_office = f.login("vp.viettri").await;
        let bodies = [
            urgent("07888", json!(i64::MAX), json!(0)),
            urgent("25", json!(i64::MAX), json!(0)),
            urgent("07888", json!(i64::MIN), json!(i64::MAX)),
            urgent("07888", json!(60), json!(0)),
            urgent("99999", json!(60), json!(0)),
            json!({"duration_minutes": "not a number"}),
            json!([1, 2, 3]),
        ];
        for who in [&site, &chair] {
            for b in &bodies {
                let (s, p) = f
                    .json("POST", "/api/meetings/urgent", Some(who), Some(b.clone()))
                    .await;
                assert_eq!(
                    (s, p["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{b}: {p}"
                );
                assert!(!p["detail_vi"].as_str().unwrap().is_empty());
            }
            for b in [
                timed("9999-12-31T22:00:00Z", "9999-12-31T23:00:00Z"),
                json!({"title": ""}),
            ] {
                let (s, p) = f
                    .json("POST", "/api/meetings", Some(who), Some(b.clone()))
                    .await;
                assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {p}");
                let edit = json!({"version": 0, "meeting": b});
                let (s, p) = f
                    .json("PUT", &format!("/api/meetings/{id}"), Some(who), Some(edit))
                    .await;
                assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
            }
            let (s, p) = f
                .json(
                    "POST",
                    &format!("/api/meetings/{id}/cancel"),
                    Some(who),
                    Some(json!({"version": "x"})),
                )
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        }
        // A secretary of another office may not schedule for the province either.
        let (s, p) = f
            .json(
                "POST",
                "/api/meetings/urgent",
                Some(&other_office),
                Some(urgent("25", json!(i64::MAX), json!(0))),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        let (s, p) = f
        .json(
            "PUT",
            &format!("/api/meetings/{id}"),
            Some(&other_office),
            Some(json!({"version": 0, "meeting": timed("1900-01-01T09:00:00+07:00", "1900-01-01T10:00:00+07:00")})),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");

        assert_eq!(meetings_stored(&e.db).await, 1);
        let (s, v) = f
            .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
            .await;
        assert_eq!(
            (s, v["meeting"]["version"].as_i64()),
            (StatusCode::OK, Some(0))
        );
    }
);

/// A refused request: 422, a message in both languages naming the limit.
fn refused(s: StatusCode, p: &Value, needle: &str) {
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    for k in ["detail", "detail_vi"] {
        let text = p[k].as_str().unwrap_or_default();
        assert!(text.contains(needle), "{k} lacks {needle:?}: {p}");
    }
    assert!(
        !p["title_vi"].as_str().unwrap_or_default().is_empty(),
        "{p}"
    );
}

on_both!(
    out_of_range_requests_are_refused_and_nothing_stored,
    async |e: Env| {
        let f = &e.f;
        let sec = f.login("vp.tinh").await;
        for (duration, delay) in [
            (json!(i64::MAX), json!(0)),
            (json!(i64::MIN), json!(0)),
            (json!(0), json!(0)),
            (json!(-5), json!(0)),
            (json!(1441), json!(0)),
            (json!(i64::MAX / 60 + 1), json!(0)),
        ] {
            let (s, p) = f
                .json(
                    "POST",
                    "/api/meetings/urgent",
                    Some(&sec),
                    Some(urgent("25", duration.clone(), delay)),
                )
                .await;
            refused(s, &p, "1440");
            assert_eq!(p["code"], "invalid_input", "{duration}: {p}");
        }
        let (s, p) = f
            .json(
                "POST",
                "/api/meetings/urgent",
                Some(&sec),
                Some(urgent("25", json!(60), json!(i64::MAX))),
            )
            .await;
        refused(s, &p, "120");

        for (start, end) in [
            ("9999-12-31T23:59:00Z", "9999-12-31T23:59:59Z"),
            ("9999-12-31T22:00:00Z", "9999-12-31T23:00:00Z"),
            ("9999-12-31T23:00:00+07:00", "9999-12-31T23:59:00+07:00"),
            ("1900-01-01T09:00:00+07:00", "1900-01-01T10:00:00+07:00"),
            ("0001-01-01T09:00:00+07:00", "0001-01-01T10:00:00+07:00"),
            ("2100-12-31T23:30:00+07:00", "2101-01-01T00:30:00+07:00"),
        ] {
            let (s, p) = f
                .json("POST", "/api/meetings", Some(&sec), Some(timed(start, end)))
                .await;
            refused(s, &p, "2100-12-31");
        }
        // The same limits through a series: an UNTIL of 9999, a COUNT running past 2100,
        // an exception date at the end of the calendar.
        for (rule, exdates, needle) in [
            (
                "FREQ=WEEKLY;UNTIL=99991231T235959Z",
                json!([]),
                "2100-12-31",
            ),
            ("FREQ=WEEKLY;UNTIL=99991231", json!([]), "2100-12-31"),
            ("FREQ=WEEKLY;INTERVAL=52;COUNT=366", json!([]), "2100-12-31"),
            (
                "FREQ=WEEKLY;COUNT=3",
                json!(["9999-12-31T23:59:59Z"]),
                "2100-12-31",
            ),
        ] {
            let mut m = meeting("Giao ban tuần", "25", &["07888"], 1);
            m["recurrence"] = json!({"rrule": rule, "exdates": exdates});
            let (s, p) = f.json("POST", "/api/meetings", Some(&sec), Some(m)).await;
            refused(s, &p, needle);
        }
        assert_eq!(meetings_stored(&e.db).await, 0);

        // An edit to 9999 is refused and the meeting keeps its times.
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
        let edit =
            json!({"version": 0, "meeting": timed("9999-12-31T22:00:00Z", "9999-12-31T23:00:00Z")});
        let (s, p) = f
            .json(
                "PUT",
                &format!("/api/meetings/{id}"),
                Some(&sec),
                Some(edit),
            )
            .await;
        refused(s, &p, "2100-12-31");
        let (_, v) = f
            .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
            .await;
        assert_eq!(v["meeting"]["starts_at"], out["meeting"]["starts_at"]);
        assert_eq!(v["meeting"]["version"], 0);
        assert_eq!(meetings_stored(&e.db).await, 1);

        // The limits are in the OpenAPI document an integrator reads.
        let (s, doc) = f.json("GET", "/api/openapi.json", None, None).await;
        assert_eq!(s, StatusCode::OK);
        let schemas = &doc["components"]["schemas"];
        let urgent = &schemas["UrgentRequest"]["properties"];
        assert_eq!(urgent["duration_minutes"]["minimum"], 1, "{urgent}");
        assert_eq!(urgent["duration_minutes"]["maximum"], 1440, "{urgent}");
        assert_eq!(urgent["delay_minutes"]["maximum"], 120, "{urgent}");
        let draft = &schemas["MeetingDraft"]["properties"];
        let desc = |field: &str| {
            draft[field]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(desc("starts_at").contains("2100-12-31"), "{draft}");
        assert!(desc("ends_at").contains("24 hours"), "{draft}");
        let rec = &schemas["RecurrenceInput"]["properties"];
        assert!(
            rec["rrule"]["description"]
                .as_str()
                .unwrap_or_default()
                .contains("2100-12-31"),
            "{rec}"
        );
    }
);

/// Moves meeting `id` (and its occurrences) to 9999-12-31 23:59 UTC behind the API's
/// back, the way an older version or a manual import could have left it.
async fn force_edge(db: &Db, id: &str) {
    for (table, col) in [("meetings", "id"), ("occurrences", "meeting_id")] {
        sqlx::query(&format!(
            "UPDATE {table} SET starts_at = $1, ends_at = $2 WHERE {col} = $3"
        ))
        .bind(EDGE_START)
        .bind(EDGE_END)
        .bind(id.to_owned())
        .execute(db.pool())
        .await
        .unwrap();
    }
}

async fn ok(f: &Fixture, who: &str, uri: &str) -> (axum::http::HeaderMap, Vec<u8>) {
    let (s, h, b) = f.call("GET", uri, Some(who), None).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&b));
    (h, b)
}

on_both!(
    stored_extreme_dates_still_get_their_files,
    async |e: Env| {
        let f = &e.f;
        let sec = f.login("vp.tinh").await;
        let site = f.login("site.07888").await;
        let new = |title: &'static str| {
            let sec = sec.clone();
            async move {
                let (s, out) = f
                    .json(
                        "POST",
                        "/api/meetings",
                        Some(&sec),
                        Some(meeting(title, "25", &["07888"], 2)),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{out}");
                out["meeting"]["id"].as_str().unwrap().to_owned()
            }
        };
        // A: nothing written yet, so minutes and notice are pre-filled from the stored times.
        let a = new("Họp tổng kết năm").await;
        // B: minutes and notice issued first, then the minutes' own times forced as well.
        let b = new("Họp sơ kết quý").await;
        for kind in ["minutes", "notice"] {
            let (s, rec) = f
                .json(
                    "GET",
                    &format!("/api/meetings/{b}/{kind}"),
                    Some(&sec),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{rec}");
            let key = if kind == "minutes" { "minutes" } else { "doc" };
            let body = json!({"version": 0, key: rec[key]});
            let (s, saved) = f
                .json(
                    "PUT",
                    &format!("/api/meetings/{b}/{kind}"),
                    Some(&sec),
                    Some(body),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{saved}");
            let (s, fin) = f
                .json(
                    "POST",
                    &format!("/api/meetings/{b}/{kind}/finalize"),
                    Some(&sec),
                    Some(json!({"version": 1})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{fin}");
        }
        {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT version, body FROM minutes_versions WHERE meeting_id = $1 AND kind = 'BB' \
             ORDER BY version DESC LIMIT 1",
            )
            .bind(b.clone())
            .fetch_one(e.db.pool())
            .await
            .unwrap();
            let version: i64 = row.try_get("version").unwrap();
            let mut body: Value =
                serde_json::from_str(&row.try_get::<String, _>("body").unwrap()).unwrap();
            body["started_at"] = json!("9999-12-31T23:59:00Z");
            body["ended_at"] = json!("9999-12-31T23:59:59Z");
            sqlx::query(
            "UPDATE minutes_versions SET body = $1 WHERE meeting_id = $2 AND kind = 'BB' AND version = $3",
        )
        .bind(body.to_string())
        .bind(b.clone())
        .bind(version)
        .execute(e.db.pool())
        .await
        .unwrap();
        }
        force_edge(&e.db, &a).await;
        force_edge(&e.db, &b).await;

        for id in [&a, &b] {
            let (s, v) = f
                .json("GET", &format!("/api/meetings/{id}"), Some(&sec), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["meeting"]["starts_at"], "9999-12-31T23:59:00Z");
            for (who, uri) in [
                (&sec, format!("/api/meetings/{id}/ics")),
                (&sec, format!("/api/meetings/{id}/ics?unit=07888")),
                (&site, format!("/api/meetings/{id}/ics")),
            ] {
                let (h, body) = ok(f, who, &uri).await;
                assert!(
                    h[header::CONTENT_TYPE]
                        .to_str()
                        .unwrap()
                        .starts_with("text/calendar")
                );
                let text = String::from_utf8(body).unwrap();
                assert!(
                    text.contains("DTSTART") && text.contains("END:VCALENDAR"),
                    "{text}"
                );
            }
            ok(f, &sec, &format!("/api/meetings/{id}/attendance")).await;
            let (_, csv) = ok(f, &sec, &format!("/api/meetings/{id}/attendance.csv")).await;
            assert!(csv.starts_with(b"\xEF\xBB\xBF"));
            let (h, zip) = ok(f, &sec, &format!("/api/meetings/{id}/archive.zip")).await;
            assert_eq!(h[header::CONTENT_TYPE], "application/zip");
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
            let mut summary = String::new();
            std::io::Read::read_to_string(&mut z.by_name("cuoc-hop.txt").unwrap(), &mut summary)
                .unwrap();
            // No Hà Nội form for that time: the summary gives it in UTC and says so.
            assert!(summary.contains("23:59 31/12/9999 UTC"), "{summary}");
            let names: Vec<String> = z.file_names().map(str::to_owned).collect();
            if id == &b {
                assert!(
                    names.iter().any(|n| n.starts_with("bien-ban/bien-ban-")),
                    "{names:?}"
                );
            }
            ok(f, &site, &format!("/api/meetings/{id}/join/07888")).await;
            for kind in ["minutes", "notice"] {
                ok(f, &sec, &format!("/api/meetings/{id}/{kind}")).await;
                let (h, pdf) = ok(f, &sec, &format!("/api/meetings/{id}/{kind}.pdf")).await;
                assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
                assert!(pdf.starts_with(b"%PDF"));
                ok(f, &sec, &format!("/api/meetings/{id}/{kind}.docx")).await;
            }
        }
        // A's pre-filled notice cannot be saved with tasks (none fits after 9999-12-31),
        // but saving answers rather than failing.
        let (s, rec) = f
            .json(
                "GET",
                &format!("/api/meetings/{a}/notice"),
                Some(&sec),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, p) = f
            .json(
                "PUT",
                &format!("/api/meetings/{a}/notice"),
                Some(&sec),
                Some(json!({"version": 0, "doc": rec["doc"]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

        // The lists that hold them, and a cancel (which builds the CANCEL calendar).
        ok(f, &site, "/api/units/07888/upcoming").await;
        ok(f, &sec, "/api/meetings/search").await;
        ok(
            f,
            &sec,
            "/api/meetings/search?from=9999-01-01&to=9999-12-31",
        )
        .await;
        ok(
            f,
            &sec,
            "/api/meetings?from=2026-03-02T00:00:00%2B07:00&to=2026-03-09T00:00:00%2B07:00",
        )
        .await;
        let (s, p) = f
            .json(
                "POST",
                &format!("/api/meetings/{a}/cancel"),
                Some(&sec),
                Some(json!({"version": 0})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        ok(f, &sec, &format!("/api/meetings/{a}/ics")).await;

        // Still serving.
        let (s, me) = f.json("GET", "/api/me", Some(&sec), None).await;
        assert_eq!(
            (s, me["username"].as_str()),
            (StatusCode::OK, Some("vp.tinh"))
        );
    }
);
