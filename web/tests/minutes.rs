//! Minutes and conclusion notices over the REST API, on SQLite and PostgreSQL: the
//! editor's save / conflict / finalize cycle, the files read back by independent tools
//! (pdftotext, LibreOffice, pdfsig), tasks on the units' dashboards, who may do what,
//! and the signing certificate given to the real binary.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

/// Runs a tool; a missing one fails the test naming the Debian package to install.
fn tool(program: &str, args: &[&str], package: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("`{program}` could not be run ({e}); install {package}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whitespace runs collapsed, so wrapped lines compare as running text.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let p = path.to_str().unwrap();
    flat(&tool(
        "pdftotext",
        &["-enc", "UTF-8", p, "-"],
        "poppler-utils",
    ))
}

fn libreoffice_text(docx: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.docx");
    std::fs::write(&path, docx).unwrap();
    let outdir = dir.path().to_str().unwrap();
    let profile = format!("-env:UserInstallation=file://{outdir}/profile");
    let args = [
        profile.as_str(),
        "--headless",
        "--convert-to",
        "txt:Text (encoded):UTF8",
        "--outdir",
        outdir,
        path.to_str().unwrap(),
    ];
    tool("soffice", &args, "libreoffice-writer-nogui");
    flat(&std::fs::read_to_string(dir.path().join("doc.txt")).expect("LibreOffice wrote no text"))
}

fn pdfsig(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, pdf).unwrap();
    // pdfsig exits non-zero for an untrusted (self-signed) certificate: read it anyway.
    let out = Command::new("pdfsig")
        .arg(&path)
        .output()
        .expect("pdfsig could not be run; install poppler-utils");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A self-signed RSA certificate with its key in a PKCS#12 file, made by OpenSSL.
fn make_p12(dir: &Path, password: &str) -> std::path::PathBuf {
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (key, cert, p12) = (
        dir.join("key.pem"),
        dir.join("cert.pem"),
        dir.join("ky-so.p12"),
    );
    tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &s(&key),
            "-out",
            &s(&cert),
            "-days",
            "30",
            "-subj",
            "/C=VN/O=UBND tinh Phu Tho/CN=Nguyen Thi Huong",
        ],
        "openssl",
    );
    tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &s(&key),
            "-in",
            &s(&cert),
            "-out",
            &s(&p12),
            "-passout",
            &format!("pass:{password}"),
        ],
        "openssl",
    );
    p12
}

impl Fixture {
    async fn bytes(&self, uri: &str, cookie: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        self.call("GET", uri, Some(cookie), None).await
    }
}

/// A meeting of the province inviting Việt Trì and Phường Dữu Lâu; returns its id.
/// `Fixture::json` on one of a meeting's own paths (`minutes/finalize`, say).
async fn on_meeting(
    f: &Fixture,
    method: &str,
    id: &str,
    path: &str,
    who: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    f.json(
        method,
        &format!("/api/meetings/{id}/{path}"),
        Some(who),
        body,
    )
    .await
}

async fn new_meeting(f: &Fixture, sec: &str, body: Value) -> String {
    let (s, out) = f.json("POST", "/api/meetings", Some(sec), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    out["meeting"]["id"].as_str().unwrap().to_owned()
}

/// Loads the draft, lets `edit` change it, saves it over the version it read.
async fn edit_minutes(f: &Fixture, who: &str, id: &str, edit: impl Fn(&mut Value)) -> Value {
    let (s, rec) = f
        .json(
            "GET",
            &format!("/api/meetings/{id}/minutes"),
            Some(who),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    let mut m = rec["minutes"].clone();
    edit(&mut m);
    let body = json!({"version": rec["meta"]["version"], "minutes": m});
    let (s, saved) = f
        .json(
            "PUT",
            &format!("/api/meetings/{id}/minutes"),
            Some(who),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    saved
}

fn people(m: &mut Value) {
    for a in m["attendees"].as_array_mut().unwrap() {
        if a["unit_name"] == "Phường Dữu Lâu" {
            a["people"] = json!("Bà Hà Thị Ngọc Ánh, Chủ tịch");
            a["present"] = json!(true);
        }
    }
    m["conclusions"] = json!(["Các đơn vị khẩn trương khắc phục hậu quả mưa đá."]);
}

both_dbs!(
    minutes_are_edited_finalized_and_exported,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = new_meeting(
            &f,
            &sec,
            meeting("Họp về phòng, chống thiên tai", "25", &["227", "07888"], 2),
        )
        .await;
        let (s, rec) = on_meeting(&f, "GET", &id, "minutes", &sec, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(rec["meta"]["version"], 0);
        assert_eq!(rec["meta"]["can_edit"], true);
        assert_eq!(
            rec["minutes"]["meeting_title"],
            "Họp về phòng, chống thiên tai"
        );

        let saved = edit_minutes(&f, &sec, &id, people).await;
        assert_eq!(saved["meta"]["version"], 1);
        // A second editor still on the blank form is told, with the Vietnamese message.
        let stale = json!({"version": 0, "minutes": rec["minutes"]});
        let (s, p) = on_meeting(&f, "PUT", &id, "minutes", &sec, Some(stale)).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(p["code"], "conflict");
        assert!(
            p["detail_vi"]
                .as_str()
                .unwrap()
                .contains("phiên bản hiện tại là 1"),
            "{p}"
        );
        let (_, versions) = on_meeting(&f, "GET", &id, "minutes/versions", &sec, None).await;
        assert_eq!(versions.as_array().unwrap().len(), 1);
        assert_eq!(versions[0]["author"], "vp.tinh");

        // The draft PDF already carries the names exactly, composed.
        let (s, h, pdf) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &sec)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
        assert!(
            h[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains("bien-ban-du-thao.pdf")
        );
        let text = pdftotext(&pdf);
        for expected in [
            "BIÊN BẢN",
            "Phường Dữu Lâu",
            "Bà Hà Thị Ngọc Ánh, Chủ tịch",
            "Thành phố Việt Trì",
            "Các đơn vị khẩn trương khắc phục hậu quả mưa đá.",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }

        let (s, fin) = on_meeting(
            &f,
            "POST",
            &id,
            "minutes/finalize",
            &sec,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{fin}");
        assert_eq!(fin["meta"]["state"], "final");
        assert_eq!(fin["meta"]["number"], json!({"seq": 1, "year": 2026}));
        // Finalizing twice and editing a final minutes are refused with what happened.
        let (s, p) = on_meeting(
            &f,
            "POST",
            &id,
            "minutes/finalize",
            &sec,
            Some(json!({"version": fin["meta"]["version"]})),
        )
        .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_final"))
        );
        assert!(p["detail_vi"].as_str().unwrap().contains("01/2026"), "{p}");
        let again = json!({"version": fin["meta"]["version"], "minutes": fin["minutes"]});
        let (s, p) = on_meeting(&f, "PUT", &id, "minutes", &sec, Some(again)).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::CONFLICT, Some("read_only"))
        );
        assert_eq!(p["title_vi"], "Văn bản đã ban hành không sửa được");

        let (_, _, pdf) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &sec)
            .await;
        let text = pdftotext(&pdf);
        assert!(text.contains("Số: 01/BB-UBND"), "{text}");
        assert!(text.contains("Phú Thọ, ngày 02 tháng 3 năm 2026"), "{text}");

        let (s, h, docx) = f
            .bytes(&format!("/api/meetings/{id}/minutes.docx"), &sec)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            h[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains("bien-ban-01-2026.docx")
        );
        let text = libreoffice_text(&docx);
        for expected in [
            "Số: 01/BB-UBND",
            "Bà Hà Thị Ngọc Ánh, Chủ tịch",
            "Phường Dữu Lâu",
            "THƯ KÝ",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }

        let (s, _, xml) = f
            .bytes(&format!("/api/meetings/{id}/minutes.edxml"), &sec)
            .await;
        assert_eq!(s, StatusCode::OK);
        let xml = String::from_utf8(xml).unwrap();
        assert!(
            xml.contains("http://www.mic.gov.vn/TBT/QCVN_102_2016"),
            "{xml:.300}"
        );
        // From the province (its unit code) to each invited unit.
        assert!(xml.contains("<edXML:OrganId>25</edXML:OrganId>"), "sender");
        assert!(
            xml.contains("<edXML:OrganId>07888</edXML:OrganId>"),
            "recipient"
        );
        assert!(
            xml.contains("<edXML:OrganName>Phường Dữu Lâu</edXML:OrganName>"),
            "recipient name"
        );
        assert!(xml.contains("BB-UBND"));
    }
);

both_dbs!(who_may_read_and_write_the_minutes, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let id = new_meeting(&f, &sec, meeting("Họp chuyên đề", "25", &["07888"], 2)).await;
    edit_minutes(&f, &sec, &id, people).await;
    let share = json!({"shared": true});
    let (s, _) = on_meeting(&f, "PUT", &id, "minutes/share", &sec, Some(share)).await;
    assert_eq!(s, StatusCode::OK);
    // The invited hall reads and downloads a shared draft; it does not write or finalize.
    let site = f.login("site.07888").await;
    let (s, rec) = on_meeting(&f, "GET", &id, "minutes", &site, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec["meta"]["can_edit"], false);
    let (s, _, _) = f
        .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &site)
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"version": 1, "minutes": rec["minutes"]});
    let (s, p) = on_meeting(&f, "PUT", &id, "minutes", &site, Some(body)).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, _) = on_meeting(
        &f,
        "POST",
        &id,
        "minutes/finalize",
        &site,
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A hall that was not invited sees nothing of it.
    let other = f.login("site.07894").await;
    for uri in [
        "minutes",
        "minutes.pdf",
        "minutes.docx",
        "minutes.edxml",
        "minutes/versions",
        "notice",
        "notice.pdf",
    ] {
        let (s, _, _) = f.bytes(&format!("/api/meetings/{id}/{uri}"), &other).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}");
    }
    // Without a certificate configured, signing says so (503), whoever asks.
    let (s, p) = on_meeting(&f, "POST", &id, "minutes/sign", &sec, None).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("signing_disabled"))
    );
    let (s, _) = on_meeting(&f, "GET", &id, "minutes.signed.pdf", &sec, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

both_dbs!(
    drafts_reach_the_invited_units_only_when_shared,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = new_meeting(&f, &sec, meeting("Họp chuẩn bị", "25", &["07888"], 2)).await;
        edit_minutes(&f, &sec, &id, people).await;
        let site = f.login("site.07888").await;
        let files = [
            "minutes",
            "minutes.pdf",
            "minutes.docx",
            "minutes.edxml",
            "minutes/versions",
            "minutes/versions/1",
        ];
        for uri in files {
            let (s, _, body) = f.bytes(&format!("/api/meetings/{id}/{uri}"), &site).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{uri}");
            let p: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(p["code"], "draft_not_shared", "{uri}: {p}");
        }
        // The notice's draft is shared on its own.
        let (s, _) = on_meeting(&f, "GET", &id, "notice", &site, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Only an editor shares: the hall itself cannot.
        let on = json!({"shared": true});
        let (s, _) = on_meeting(&f, "PUT", &id, "minutes/share", &site, Some(on.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, out) = on_meeting(&f, "PUT", &id, "minutes/share", &sec, Some(on)).await;
        assert_eq!((s, &out), (StatusCode::OK, &json!({"shared": true})));
        let (_, rec) = on_meeting(&f, "GET", &id, "minutes", &sec, None).await;
        assert_eq!(rec["meta"]["shared"], true);
        for uri in files {
            let (s, _, _) = f.bytes(&format!("/api/meetings/{id}/{uri}"), &site).await;
            assert_eq!(s, StatusCode::OK, "{uri}");
        }
        // What the hall downloads says, in both formats, that it is a draft.
        let (_, _, pdf) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &site)
            .await;
        assert!(pdftotext(&pdf).contains("DỰ THẢO"));
        let (_, _, docx) = f
            .bytes(&format!("/api/meetings/{id}/minutes.docx"), &site)
            .await;
        assert!(libreoffice_text(&docx).contains("DỰ THẢO"));
        // Withdrawn again: refused again.
        let off = json!({"shared": false});
        let (s, _) = on_meeting(&f, "PUT", &id, "minutes/share", &sec, Some(off)).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &site)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Issued minutes are for every invited unit, shared or not, and carry no draft mark.
        let (s, _) = on_meeting(
            &f,
            "POST",
            &id,
            "minutes/finalize",
            &sec,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, pdf) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &site)
            .await;
        assert_eq!(s, StatusCode::OK);
        let text = pdftotext(&pdf);
        assert!(!text.contains("DỰ THẢO"), "{text}");
    }
);

both_dbs!(
    issued_minutes_with_empty_fields_print_clean,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = new_meeting(&f, &sec, meeting("Họp giao ban", "25", &["07888"], 2)).await;
        let (_, rec) = on_meeting(&f, "GET", &id, "minutes", &sec, None).await;
        // The accounts here are named by their logins ("ct.tinh", "vp.tinh"): not people,
        // so nothing goes into the names to be printed under CHỦ TỌA.
        assert_eq!(
            rec["minutes"]["chair"],
            json!({"full_name": "", "position": ""})
        );
        assert_eq!(
            rec["minutes"]["secretary"],
            json!({"full_name": "", "position": ""})
        );
        edit_minutes(&f, &sec, &id, |m| {
            people(m);
            m["location"] = json!("");
        })
        .await;
        let (s, _) = on_meeting(
            &f,
            "POST",
            &id,
            "minutes/finalize",
            &sec,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (_, _, pdf) = f
            .bytes(&format!("/api/meetings/{id}/minutes.pdf"), &sec)
            .await;
        let (_, _, docx) = f
            .bytes(&format!("/api/meetings/{id}/minutes.docx"), &sec)
            .await;
        for (reader, text) in [
            ("pdftotext", pdftotext(&pdf)),
            ("LibreOffice", libreoffice_text(&docx)),
        ] {
            for bad in [": .", ", .", " , "] {
                assert!(!text.contains(bad), "{reader}: {bad:?} in {text}");
            }
            assert!(text.contains("Địa điểm: ……"), "{reader}: {text}");
            assert!(text.contains("Chủ trì (chủ tọa): ……"), "{reader}: {text}");
        }

        // The notice starts from the minutes' conclusions.
        let (_, notice) = on_meeting(&f, "GET", &id, "notice", &sec, None).await;
        assert_eq!(
            notice["doc"]["notice"]["body"],
            json!(["Các đơn vị khẩn trương khắc phục hậu quả mưa đá."])
        );
    }
);

both_dbs!(notice_tasks_reach_the_units, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let id = new_meeting(
        &f,
        &sec,
        meeting("Họp kết luận", "25", &["227", "07888"], 2),
    )
    .await;
    let (_, rec) = on_meeting(&f, "GET", &id, "notice", &sec, None).await;
    let mut doc = rec["doc"].clone();
    doc["body"] = json!(["Các đơn vị triển khai ngay các nhiệm vụ sau."]);
    doc["tasks"] = json!([
        {"title": "Sửa chữa trường học bị tốc mái", "lead_unit": "07888", "supporting_units": ["227"],
         "deadline": "2026-03-01", "status": "open"},
    ]);
    let (s, p) = f
        .json(
            "PUT",
            &format!("/api/meetings/{id}/notice"),
            Some(&sec),
            Some(json!({"version": 0, "doc": doc.clone()})),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("deadline_before_meeting")
        )
    );
    assert!(
        p["detail_vi"].as_str().unwrap().contains("01/03/2026"),
        "{p}"
    );
    doc["tasks"][0]["deadline"] = json!("2026-03-31");
    let (s, saved) = on_meeting(
        &f,
        "PUT",
        &id,
        "notice",
        &sec,
        Some(json!({"version": 0, "doc": doc})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    let (s, fin) = on_meeting(
        &f,
        "POST",
        &id,
        "notice/finalize",
        &sec,
        Some(json!({"version": saved["meta"]["version"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{fin}");

    let (_, _, pdf) = f
        .bytes(&format!("/api/meetings/{id}/notice.pdf"), &sec)
        .await;
    let text = pdftotext(&pdf);
    for expected in [
        "THÔNG BÁO",
        "Số: 01/TB-UBND",
        "Sửa chữa trường học bị tốc mái",
        "Phường Dữu Lâu",
        "31/03/2026",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }

    let site = f.login("site.07888").await;
    let (s, tasks) = f
        .json("GET", "/api/units/07888/tasks", Some(&site), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!(
        (tasks[0]["lead"].as_bool(), tasks[0]["overdue"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(tasks[0]["deadline"], "2026-03-31");
    let tid = tasks[0]["id"].as_str().unwrap().to_owned();
    let (s, _) = f
        .json("GET", "/api/units/227/tasks", Some(&site), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = f.login("site.07894").await;
    let (s, _) = f
        .json(
            "PUT",
            &format!("/api/tasks/{tid}/status"),
            Some(&other),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, t) = f
        .json(
            "PUT",
            &format!("/api/tasks/{tid}/status"),
            Some(&site),
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(
        (s, t["status"].as_str()),
        (StatusCode::OK, Some("in_progress"))
    );
    let (s, table) = f
        .json("GET", "/api/units/25/task-status", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(table[0]["unit"], "07888");
    assert_eq!(
        (
            table[0]["in_progress"].as_i64(),
            table[0]["overdue"].as_i64()
        ),
        (Some(1), Some(0))
    );
    let (s, _) = f
        .json("GET", "/api/units/07888/task-status", Some(&site), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
});

/// Signing needs the real clock (the test certificate is valid from today), so this
/// fixture is the standard one with a signer and the clock of the machine.
async fn signing_fixture(db: Db, p12: &Path, password: &str) -> Fixture {
    let base = Fixture::new(db.clone()).await;
    let mut st = api::ApiState::new(
        db,
        TokenKey::from_secret(&[9u8; 32]),
        "https://bridge.test/",
    );
    st.signer = Some(api::load_signer(p12, password).unwrap());
    Fixture {
        app: Router::new().nest("/api", api::router(st)),
        docs: base.docs,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_minutes_are_signed_and_verify_in_pdfsig() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = make_p12(dir.path(), "mật-khẩu");
    let db = Db::open_sqlite_file(&dir.path().join("bridge.db"))
        .await
        .unwrap();
    let f = signing_fixture(db, &p12, "mật-khẩu").await;
    let sec = f.login("vp.tinh").await;
    let start = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let fmt = &time::format_description::well_known::Rfc3339;
    let body = json!({
        "title": "Họp ký số", "agenda": ["Khai mạc"], "organizer": "25",
        "starts_at": start.format(fmt).unwrap(),
        "ends_at": (start + time::Duration::hours(1)).format(fmt).unwrap(),
        "participants": [{"type": "unit", "code": "07888"}],
    });
    let id = new_meeting(&f, &sec, body).await;
    edit_minutes(&f, &sec, &id, people).await;
    let (s, p) = on_meeting(&f, "POST", &id, "minutes/sign", &sec, None).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_final"))
    );
    let (s, _) = on_meeting(
        &f,
        "POST",
        &id,
        "minutes/finalize",
        &sec,
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let site = f.login("site.07888").await;
    let (s, _) = on_meeting(&f, "POST", &id, "minutes/sign", &site, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, out) = on_meeting(&f, "POST", &id, "minutes/sign", &sec, None).await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let (s, p) = on_meeting(&f, "POST", &id, "minutes/sign", &sec, None).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_signed"))
    );

    // Staff of the invited hall download it; pdfsig validates it.
    let (s, h, signed) = f
        .bytes(&format!("/api/meetings/{id}/minutes.signed.pdf"), &site)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(signed.len() as i64, out["size"].as_i64().unwrap());
    let report = pdfsig(&signed);
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    assert!(report.contains("Nguyen Thi Huong"), "{report}");
    assert!(pdftotext(&signed).contains("Bà Hà Thị Ngọc Ánh, Chủ tịch"));
    let (_, rec) = on_meeting(&f, "GET", &id, "minutes", &site, None).await;
    assert!(rec["meta"]["signed_at"].is_string(), "{rec}");
}

/// `bridge serve --signing-p12` with a damaged file or a wrong password: a clear error
/// and no server.
#[test]
fn a_corrupt_or_locked_certificate_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = make_p12(dir.path(), "đúng");
    let bytes = std::fs::read(&p12).unwrap();
    let corrupt = dir.path().join("hong.p12");
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    for (file, password, expected) in [
        (&corrupt, "đúng", "not a readable PKCS#12 file"),
        (&p12, "sai", "wrong password"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bridge"))
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--media-port",
                "0",
                "--data",
            ])
            .arg(dir.path().join("data"))
            .arg("--signing-p12")
            .arg(file)
            .env("BRIDGE_SIGNING_P12_PASSWORD", password)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "the server started with {}",
            file.display()
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("--signing-p12"), "{err}");
    }
}
