//! Attendance over the real binary: a site joins the meeting room over WebSocket with
//! its join link, leaves and rejoins (two periods; the CSV says the same), and a period
//! left open by a killed server is closed when it starts again.

mod archive_support;

use archive_support::{Server, attendance_until, join, meeting_body, unit};
use serde_json::json;
use time::{Duration, OffsetDateTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_that_leaves_and_rejoins_has_two_periods() {
    let s = Server::start();
    let sec = s.login("vp.tinh").await;
    let start = OffsetDateTime::now_utc() - Duration::minutes(5);
    let id = s
        .meeting(
            &sec,
            meeting_body("Họp điểm danh", "Hội trường", &["07888", "07894"], start),
        )
        .await;
    let site = s.login("site.07888").await;

    let mut ws = join(&s, &site, &id, "07888").await;
    attendance_until(&s, &sec, &id, |v| unit(v, "07888")["present"] == true).await;
    // Periods are whole seconds: make the gap between them visible.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    leave(&mut ws).await;
    attendance_until(&s, &sec, &id, |v| {
        unit(v, "07888")["periods"][0]["ongoing"] == false
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let mut ws = join(&s, &site, &id, "07888").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    leave(&mut ws).await;
    let v = attendance_until(&s, &sec, &id, |v| {
        let p = &unit(v, "07888")["periods"];
        p.as_array().unwrap().len() == 2 && p[1]["ongoing"] == false
    })
    .await;
    let a = unit(&v, "07888");
    assert_eq!(a["present"], true);
    assert_eq!(a["unit_name"], "Phường Dữu Lâu");
    assert!(a["connected_seconds"].as_i64().unwrap() >= 2, "{a}");
    // Never joined: absent.
    assert_eq!(unit(&v, "07894")["present"], false);
    assert_eq!(unit(&v, "07894")["periods"], json!([]));

    // The CSV says the same, readable in Excel.
    let res = s
        .get(&format!("/api/meetings/{id}/attendance.csv"), &sec, None)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(body.to_vec()).unwrap();
    let line = text.lines().find(|l| l.starts_with("07888,")).unwrap();
    assert!(line.contains("Có"), "{line}");
    assert_eq!(line.matches('–').count(), 2, "two periods: {line}");
    let absent = text.lines().find(|l| l.starts_with("07894,")).unwrap();
    assert!(absent.contains("Vắng"), "{absent}");
}

/// "Rời phòng": the period ends at once. (A socket that merely drops keeps its place,
/// and its period, for the resume grace period.)
async fn leave(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"type": "leave"}).to_string().into(),
    ))
    .await
    .unwrap();
    ws.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_left_open_by_a_killed_server_is_closed_on_restart() {
    let mut s = Server::start();
    let sec = s.login("vp.tinh").await;
    let start = OffsetDateTime::now_utc() - Duration::minutes(5);
    let id = s
        .meeting(
            &sec,
            meeting_body("Họp bị ngắt", "Hội trường", &["07888"], start),
        )
        .await;
    let site = s.login("site.07888").await;
    let _ws = join(&s, &site, &id, "07888").await;
    attendance_until(&s, &sec, &id, |v| {
        unit(v, "07888")["periods"][0]["ongoing"] == true
    })
    .await;

    s.kill_and_restart();
    // Sessions live in the database: the cookie still works after the restart.
    let (status, v) = s
        .get_json(&format!("/api/meetings/{id}/attendance"), &sec)
        .await;
    assert_eq!(status, 200, "{v}");
    let a = unit(&v, "07888");
    assert_eq!(a["present"], true, "{a}");
    let periods = a["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1, "{a}");
    // Closed at the last heartbeat (within a minute of joining), not still going on.
    assert_eq!(periods[0]["ongoing"], false, "{a}");
    assert!(a["connected_seconds"].as_i64().unwrap() < 120, "{a}");
}
