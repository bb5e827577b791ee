//! Meeting documents over the REST API, on SQLite and PostgreSQL: upload, list,
//! download with Range, who may do what, the size limit, hostile filenames.

mod common;
use common::*;

const BOUNDARY: &str = "----bridge-test-boundary";

/// A multipart/form-data body with one `file` field, as a browser sends it.
fn form(filename: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

impl Fixture {
    async fn upload(
        &self,
        meeting: &str,
        cookie: &str,
        filename: &str,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/api/meetings/{meeting}/documents"))
            .header(header::COOKIE, cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(form(filename, "application/pdf", bytes)))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn get_range(
        &self,
        uri: &str,
        cookie: &str,
        range: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().uri(uri).header(header::COOKIE, cookie);
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap().to_vec();
        (parts.status, parts.headers, bytes)
    }

    /// Files in the documents folder, temporary ones included.
    fn stored_files(&self) -> usize {
        std::fs::read_dir(self.docs.path()).unwrap().count()
    }

    async fn new_meeting(&self, sec: &str) -> String {
        let (s, out) = self
            .json(
                "POST",
                "/api/meetings",
                Some(sec),
                Some(meeting("Họp về tài liệu", "25", &["07888"], 2)),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{out}");
        out["meeting"]["id"].as_str().unwrap().to_owned()
    }
}

/// Bytes that are not all alike, so a wrong offset shows.
fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

both_dbs!(upload_list_download_with_range, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let id = f.new_meeting(&sec).await;
    let bytes = sample(300_000);
    let (s, doc) = f
        .upload(&id, &sec, "../../Báo cáo tình hình.pdf", &bytes)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["filename"], "Báo cáo tình hình.pdf");
    assert_eq!(doc["size"], 300_000);
    assert_eq!(doc["uploaded_by"], "vp.tinh");
    let doc_id = doc["id"].as_str().unwrap();

    // The invited commune lists and downloads it, byte for byte.
    let site = f.login("site.07888").await;
    let (s, list) = f
        .json(
            "GET",
            &format!("/api/meetings/{id}/documents"),
            Some(&site),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let url = format!("/api/meetings/{id}/documents/{doc_id}");
    let (s, h, body) = f.get_range(&url, &site, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body == bytes, "downloaded bytes differ");
    assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let cd = h[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        cd.starts_with("attachment;")
            && cd.contains("filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20t%C3%ACnh%20h%C3%ACnh.pdf"),
        "{cd}"
    );
    assert_eq!(h[header::ACCEPT_RANGES], "bytes");

    // A resumed download gets exactly the bytes it asked for.
    let (s, h, part) = f.get_range(&url, &site, Some("bytes=100000-100999")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(h[header::CONTENT_RANGE], "bytes 100000-100999/300000");
    assert!(part == bytes[100_000..101_000]);
    let (s, _, _) = f.get_range(&url, &site, Some("bytes=400000-")).await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);

    // Removing it takes the file too.
    assert_eq!(f.stored_files(), 1);
    let (s, _) = f.json("DELETE", &url, Some(&sec), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(f.stored_files(), 0);
    let (s, _, _) = f.get_range(&url, &site, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

both_dbs!(
    only_the_organizer_uploads_and_only_invited_units_read,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = f.new_meeting(&sec).await;
        let (s, doc) = f.upload(&id, &sec, "Tờ trình.pdf", &sample(1000)).await;
        assert_eq!(s, StatusCode::CREATED);
        let url = format!(
            "/api/meetings/{id}/documents/{}",
            doc["id"].as_str().unwrap()
        );

        // The invited hall may read but not add; an uninvited hall may do neither; a
        // district secretary outside the organizer's office may not add either.
        for (user, may_read) in [
            ("site.07888", true),
            ("site.07894", false),
            ("vp.viettri", false),
        ] {
            let c = f.login(user).await;
            let (s, p) = f.upload(&id, &c, "x.pdf", b"nope").await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{user} upload: {p}");
            assert_eq!(p["code"], "forbidden");
            let (s, _) = f.json("DELETE", &url, Some(&c), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{user} delete");
            let (s, _, _) = f.get_range(&url, &c, None).await;
            let want = if may_read {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(s, want, "{user} download");
            let (s, _) = f
                .json(
                    "GET",
                    &format!("/api/meetings/{id}/documents"),
                    Some(&c),
                    None,
                )
                .await;
            assert_eq!(s, want, "{user} list");
        }
        // Nothing was added or removed by the refused calls.
        assert_eq!(f.stored_files(), 1);
        let (_, list) = f
            .json(
                "GET",
                &format!("/api/meetings/{id}/documents"),
                Some(&sec),
                None,
            )
            .await;
        assert_eq!(list.as_array().unwrap().len(), 1);
    }
);

both_dbs!(
    oversized_upload_is_refused_and_leaves_nothing,
    async |f: Fixture| {
        let sec = f.login("vp.tinh").await;
        let id = f.new_meeting(&sec).await;
        let too_big = sample(TEST_UPLOAD_LIMIT as usize + 1);
        let (s, p) = f.upload(&id, &sec, "Phim.mp4", &too_big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{p}");
        assert_eq!(p["code"], "too_large");
        assert!(
            p["detail_vi"].as_str().unwrap().contains("tối đa 2 MB"),
            "{p}"
        );
        assert_eq!(f.stored_files(), 0, "no file, not even a temporary one");
        let (_, list) = f
            .json(
                "GET",
                &format!("/api/meetings/{id}/documents"),
                Some(&sec),
                None,
            )
            .await;
        assert_eq!(list, json!([]));

        // Exactly at the limit is fine.
        let (s, _) = f
            .upload(&id, &sec, "Vừa đủ.bin", &sample(TEST_UPLOAD_LIMIT as usize))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
);

both_dbs!(malformed_uploads_get_clear_errors, async |f: Fixture| {
    let sec = f.login("vp.tinh").await;
    let id = f.new_meeting(&sec).await;
    // A filename that is nothing but a path.
    let (s, p) = f.upload(&id, &sec, "../", b"x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    // Not multipart at all.
    let (s, p) = f
        .json(
            "POST",
            &format!("/api/meetings/{id}/documents"),
            Some(&sec),
            Some(json!({"file": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    // An unknown meeting and a malformed id.
    let other = uuid::Uuid::new_v4();
    let (s, _) = f.upload(&other.to_string(), &sec, "a.pdf", b"x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = f.upload("not-a-uuid", &sec, "a.pdf", b"x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(f.stored_files(), 0);
});
