//! The meeting file over the real binary: the whole file as one ZIP (entries and bytes,
//! Range, 403 for others) and the search of meetings (accent-free text, dates, unit,
//! visibility, paging, bad dates).

mod archive_support;

use std::io::Read;

use archive_support::{Server, meeting_body, pseudo_random};
use bridge_scheduler::recordings::{NewRecording, RecordingKind};
use bridge_scheduler::{Db, MeetingId};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_file_zip_holds_everything_serves_ranges_and_refuses_others() {
    let s = Server::start();
    let sec = s.login("vp.tinh").await;
    let start = OffsetDateTime::now_utc() - Duration::minutes(10);
    let id = s
        .meeting(
            &sec,
            meeting_body("Họp giao ban tháng", "Hội trường tỉnh", &["07888"], start),
        )
        .await;
    let doc = pseudo_random(300_000, 7);
    s.upload(&sec, &id, "Báo cáo quý.pdf", &doc).await;
    // What the recorder leaves: one finished video and an audio file still being written
    // (files in the meeting's folder, rows in the database the server uses).
    let rec_dir = s.data.join("recordings").join(&id);
    std::fs::create_dir_all(&rec_dir).unwrap();
    let rec = pseudo_random(700_000, 11);
    std::fs::write(rec_dir.join("1-video.ivf"), &rec).unwrap();
    std::fs::write(rec_dir.join("2-audio.ogg"), b"half").unwrap();
    let db = Db::open_sqlite_file(&s.data.join("bridge.db"))
        .await
        .unwrap();
    let meeting = MeetingId::parse(&id).unwrap();
    let now = OffsetDateTime::now_utc();
    let done = db
        .start_recording(
            NewRecording {
                meeting,
                kind: RecordingKind::Video,
                filename: "1-video.ivf",
                content_type: "video/x-ivf",
            },
            now,
        )
        .await
        .unwrap();
    db.end_recording(done, rec.len() as u64, None, now)
        .await
        .unwrap();
    db.start_recording(
        NewRecording {
            meeting,
            kind: RecordingKind::Audio,
            filename: "2-audio.ogg",
            content_type: "audio/ogg",
        },
        now,
    )
    .await
    .unwrap();
    db.close().await;

    let site = s.login("site.07888").await;
    let path = format!("/api/meetings/{id}/archive.zip");
    let res = s.get(&path, &site, None).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/zip");
    assert_eq!(h["accept-ranges"], "bytes");
    let disposition = h["content-disposition"].to_str().unwrap().to_owned();
    // "Hồ sơ cuộc họp - Họp giao ban tháng - …zip", exactly, in the UTF-8 form.
    assert!(
        disposition.contains("filename*=UTF-8''H%E1%BB%93%20s%C6%A1%20cu%E1%BB%99c%20h%E1%BB%8Dp"),
        "{disposition}"
    );
    let full = res.bytes().await.unwrap().to_vec();
    assert_eq!(
        h["content-length"].to_str().unwrap(),
        full.len().to_string()
    );

    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(full.clone())).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cuoc-hop.json",
            "cuoc-hop.txt",
            "diem-danh.csv",
            "ghi-hinh/1-video.ivf",
            "tai-lieu/Báo cáo quý.pdf",
        ]
    );
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap();
        let stored = f.compression() == zip::CompressionMethod::Stored;
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        (v, stored)
    };
    let (got, _) = read("tai-lieu/Báo cáo quý.pdf");
    assert!(got == doc, "document bytes differ");
    let (got, stored) = read("ghi-hinh/1-video.ivf");
    assert!(got == rec, "recording bytes differ");
    assert!(stored, "media are stored uncompressed");
    let (summary, _) = read("cuoc-hop.json");
    let summary: Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(summary["meeting"]["meeting"]["title"], "Họp giao ban tháng");
    assert_eq!(summary["documents"][0]["filename"], "Báo cáo quý.pdf");
    let (csv, _) = read("diem-danh.csv");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("Phường Dữu Lâu"), "{csv}");
    let (text, _) = read("cuoc-hop.txt");
    assert!(
        String::from_utf8(text)
            .unwrap()
            .contains("Họp giao ban tháng")
    );

    // Resume: a Range gets exactly those bytes of the same file.
    let res = s.get(&path, &site, Some("bytes=1000-1999")).await;
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 1000-1999/{}", full.len()).as_str()
    );
    let part = res.bytes().await.unwrap();
    assert!(part[..] == full[1000..2000]);
    let res = s
        .get(&path, &site, Some(&format!("bytes={}-", full.len() - 10)))
        .await;
    assert_eq!(res.status(), 206);
    assert!(res.bytes().await.unwrap()[..] == full[full.len() - 10..]);

    // A site not invited gets nothing of the meeting's file.
    let other = s.login("site.07894").await;
    for p in [
        path.clone(),
        format!("/api/meetings/{id}/attendance"),
        format!("/api/meetings/{id}/attendance.csv"),
    ] {
        let res = s.get(&p, &other, None).await;
        assert_eq!(res.status(), 403, "{p}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    // Not signed in: 401.
    let res = s.client.get(s.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_plain_text_dates_and_unit_and_hides_the_rest() {
    let s = Server::start();
    let sec = s.login("vp.tinh").await;
    let base = OffsetDateTime::now_utc() + Duration::days(3);
    let day = |t: OffsetDateTime| {
        let l = t.to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap());
        format!("{}-{:02}-{:02}", l.year(), u8::from(l.month()), l.day())
    };
    let a = s
        .meeting(
            &sec,
            meeting_body(
                "Hội nghị tổng kết nông nghiệp",
                "Đoan Hùng",
                &["07888"],
                base,
            ),
        )
        .await;
    let b = s
        .meeting(
            &sec,
            meeting_body(
                "Họp bàn phòng chống lũ",
                "Hội trường tỉnh",
                &["07888"],
                base + Duration::days(10),
            ),
        )
        .await;
    let hidden = s
        .meeting(
            &sec,
            meeting_body(
                "Tổng kết nông nghiệp (nội bộ)",
                "Việt Trì",
                &["07894"],
                base,
            ),
        )
        .await;
    let site = s.login("site.07888").await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Accent-free, any case; the agenda counts too.
    let (st, v) = s
        .get_json("/api/meetings/search?q=TONG%20KET%20nong%20nghiep", &site)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        ids(&v),
        [a.as_str()],
        "the site does not see the meeting it is not invited to"
    );
    let (_, v) = s.get_json("/api/meetings/search?q=tong%20ket", &sec).await;
    let mut both = ids(&v);
    both.sort();
    let mut want = vec![a.clone(), hidden.clone()];
    want.sort();
    assert_eq!(both, want, "the secretary sees both");
    let (_, v) = s
        .get_json("/api/meetings/search?q=san%20xuat%20vu%20dong", &site)
        .await;
    assert_eq!(v["total"], 2, "agenda text: {v}");

    // Date range: only the day of b.
    let d = day(base + Duration::days(10));
    let (_, v) = s
        .get_json(&format!("/api/meetings/search?from={d}&to={d}"), &site)
        .await;
    assert_eq!(ids(&v), [b.as_str()]);
    // Unit filter: meetings 07894 organizes or is invited to.
    let (_, v) = s.get_json("/api/meetings/search?unit=07894", &sec).await;
    assert_eq!(ids(&v), [hidden.as_str()]);
    // Paging: newest first, one per page.
    let (_, v) = s
        .get_json("/api/meetings/search?per_page=1&page=2", &site)
        .await;
    assert_eq!(v["total"], 2);
    assert_eq!(ids(&v), [a.as_str()]);

    // The routes are documented.
    let (_, doc) = s.get_json("/api/openapi.json", &site).await;
    for path in [
        "/meetings/search",
        "/meetings/{id}/attendance",
        "/meetings/{id}/attendance.csv",
        "/meetings/{id}/archive.zip",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }

    // Impossible or reversed dates: a clear 400.
    for q in [
        "from=2026-02-30",
        "to=2026-13-01",
        "from=hôm%20qua",
        "from=2026-03-10&to=2026-03-01",
        "page=-1",
    ] {
        let res = s
            .get(&format!("/api/meetings/search?{q}"), &site, None)
            .await;
        assert_eq!(res.status(), 400, "{q}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "bad_query", "{q}");
        assert!(!p["detail_vi"].as_str().unwrap().is_empty());
    }
}
