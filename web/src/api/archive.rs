//! The meeting file after the meeting: attendance (JSON and CSV), the whole file as one
//! ZIP (summary, attendance, documents, recordings, minutes exports) served with Range.
//! Who may see the meeting may download its file; others get 403. The search of past
//! meetings is in `archive_search`.

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::attendance::{UnitAttendance, attendance_csv as render_csv, period_text};
use bridge_scheduler::documents::Document;
use bridge_scheduler::meetings::MeetingView;
use bridge_scheduler::meetings::range::{display_time, hanoi};
use bridge_scheduler::recordings::RecordingStatus;
use bridge_scheduler::{MeetingId, SchedError};
use serde::Serialize;
use time::OffsetDateTime;

use super::ApiState;
use super::archive_zip::{ArchiveDir, Entry, Source, unique_name};
use super::auth::Caller;
use super::problem::Problem;
use super::stored_file::{self, content_disposition};

/// Attendance per invited unit: merged connection periods, total and speaking time,
/// absent units marked.
#[utoipa::path(get, path = "/meetings/{id}/attendance",
    responses((status = 200, body = Vec<UnitAttendance>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn attendance(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<UnitAttendance>>, Problem> {
    let id = MeetingId::parse(&id)?;
    Ok(Json(st.db.meeting_attendance_for(&p, id, st.now()).await?))
}

/// The attendance as CSV, UTF-8 with a byte-order mark so Excel shows Vietnamese.
#[utoipa::path(get, path = "/meetings/{id}/attendance.csv",
    responses((status = 200, content_type = "text/csv"), (status = 403, body = Problem)))]
pub async fn attendance_csv(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = MeetingId::parse(&id)?;
    let view = st.db.meeting(&p, id).await?;
    let rows = st.db.meeting_attendance_at(id, st.now()).await?;
    let name = format!("Điểm danh - {}.csv", file_stem(&view));
    Ok(attachment(
        render_csv(&rows)?,
        "text/csv; charset=utf-8",
        &name,
    ))
}

fn attachment(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    res
}

/// "<title> - 02-03-2026": a file name part without characters Windows refuses. A
/// stored start with no Hà Nội date (a row left at 9999-12-31 23:59 UTC) leaves the date
/// out rather than failing the download.
fn file_stem(view: &MeetingView) -> String {
    let title: String = view
        .meeting
        .title
        .chars()
        .filter(|c| !c.is_control() && !"/\\:*?\"<>|".contains(*c))
        .take(80)
        .collect();
    match hanoi(view.meeting.starts_at) {
        Some(d) => format!(
            "{} - {:02}-{:02}-{}",
            title.trim(),
            d.day(),
            u8::from(d.month()),
            d.year()
        ),
        None => title.trim().to_owned(),
    }
}

fn disabled() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "archive_disabled",
        (
            "Meeting files are not enabled",
            "Chưa bật tải hồ sơ cuộc họp",
        ),
        "This server has no data folder configured for meeting files.".into(),
        "Máy chủ này chưa cấu hình thư mục dữ liệu cho hồ sơ cuộc họp.".into(),
    )
}

/// What `cuoc-hop.json` holds.
#[derive(Serialize)]
struct Summary<'a> {
    meeting: &'a MeetingView,
    attendance: &'a [UnitAttendance],
    documents: &'a [Document],
    recordings: Vec<&'a str>,
}

/// The whole meeting file as one ZIP: `cuoc-hop.json` and `cuoc-hop.txt` (summary),
/// `diem-danh.csv`, `tai-lieu/…` (documents), `ghi-hinh/…` (recordings), `bien-ban/…`
/// (minutes and notice exports). Supports Range; built once per content and cached.
#[utoipa::path(get, path = "/meetings/{id}/archive.zip",
    responses((status = 200, content_type = "application/zip"), (status = 206, description = "a range of it"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 416)))]
pub async fn archive_zip(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Problem> {
    let data = st.data_dir.clone().ok_or_else(disabled)?;
    let id = MeetingId::parse(&id)?;
    let view = st.db.meeting(&p, id).await?;
    let now = st.now();
    let attendance = st.db.meeting_attendance_at(id, now).await?;
    let documents = st.db.documents(&p, id).await?;
    let recordings = recorded_files(&st, &p, id, &data).await?;

    let mut taken = Vec::new();
    let mut entries = Vec::new();
    // No "generated at" stamp: it would change the bytes on every request and defeat the
    // cache and Range; the meeting's version and content identify the file instead.
    let summary = Summary {
        meeting: &view,
        attendance: &attendance,
        documents: &documents,
        recordings: recordings.iter().map(|(n, _)| n.as_str()).collect(),
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| SchedError::Io(std::io::Error::other(e)))?;
    entries.push(bytes("cuoc-hop.json", json));
    entries.push(bytes(
        "cuoc-hop.txt",
        summary_text(&view, &attendance, &documents).into_bytes(),
    ));
    entries.push(bytes("diem-danh.csv", render_csv(&attendance)?));
    if let Some(store) = &st.documents {
        for d in &documents {
            entries.push(Entry {
                name: unique_name(&mut taken, "tai-lieu", &d.filename),
                source: Source::File(store.path(d.id)),
            });
        }
    }
    for (name, path) in recordings {
        entries.push(Entry {
            name: unique_name(&mut taken, "ghi-hinh", &name),
            source: Source::File(path),
        });
    }
    for (name, body) in super::minutes_files::issued_files(&st, &p, id).await? {
        entries.push(Entry {
            name: unique_name(&mut taken, "bien-ban", &name),
            source: Source::Bytes(body),
        });
    }

    let dir = ArchiveDir(data.join("archives"));
    let mtime = view.meeting.starts_at;
    let meeting = id.to_string();
    let path = tokio::task::spawn_blocking(move || dir.get_or_build(&meeting, &entries, mtime))
        .await
        .map_err(|e| SchedError::Io(std::io::Error::other(e)))?
        .map_err(SchedError::Io)?;

    let name = format!("Hồ sơ cuộc họp - {}.zip", file_stem(&view));
    stored_file::send(req, &path, "application/zip", &name)
        .await
        .ok_or_else(|| {
            Problem::from(SchedError::Io(std::io::Error::other(
                "the archive just built is gone",
            )))
        })
}

/// The meeting's recorded files (name, path) in `DATA/recordings/<meeting>/`. A file
/// still being recorded is left out: its bytes would change under the download.
async fn recorded_files(
    st: &ApiState,
    p: &bridge_scheduler::Principal,
    id: MeetingId,
    data: &std::path::Path,
) -> Result<Vec<(String, PathBuf)>, Problem> {
    let dir = data.join("recordings").join(id.to_string());
    let mut out = Vec::new();
    for r in st.db.recordings(p, id).await? {
        // The names are the recorder's own, but a path must never leave the folder.
        let unsafe_name = r.filename.contains(['/', '\\']) || r.filename.starts_with('.');
        if r.status == RecordingStatus::Recording || unsafe_name {
            continue;
        }
        let path = dir.join(&r.filename);
        if !path.is_file() {
            tracing::error!(recording = %r.id, path = %path.display(), "recording file missing");
            continue;
        }
        out.push((r.filename, path));
    }
    Ok(out)
}

fn bytes(name: &str, body: Vec<u8>) -> Entry {
    Entry {
        name: name.to_owned(),
        source: Source::Bytes(body),
    }
}

/// A short human-readable summary in Vietnamese, for whoever opens the ZIP.
fn summary_text(view: &MeetingView, att: &[UnitAttendance], docs: &[Document]) -> String {
    let m = &view.meeting;
    // In Hà Nội time; a stored time with none (past year 9999 there) in UTC, said so.
    let t = |x: OffsetDateTime| match display_time(x) {
        Some((l, utc)) => format!(
            "{:02}:{:02} {:02}/{:02}/{}{}",
            l.hour(),
            l.minute(),
            l.day(),
            u8::from(l.month()),
            l.year(),
            if utc { " UTC" } else { "" }
        ),
        None => x.unix_timestamp().to_string(),
    };
    let mut s = format!(
        "HỒ SƠ CUỘC HỌP\n\nTên cuộc họp: {}\nĐơn vị chủ trì: {}\nĐịa điểm: {}\nThời gian: {} – {}\n",
        m.title,
        m.organizer,
        m.location,
        t(m.starts_at),
        t(m.ends_at)
    );
    if m.cancelled {
        s.push_str("Trạng thái: đã hủy\n");
    }
    s.push_str("\nChương trình:\n");
    for (i, a) in m.agenda.iter().enumerate() {
        s.push_str(&format!("  {}. {a}\n", i + 1));
    }
    let present = att.iter().filter(|a| a.present).count();
    s.push_str(&format!(
        "\nĐiểm danh: {present}/{} đơn vị có mặt\n",
        att.len()
    ));
    for a in att {
        let periods: Vec<String> = a.periods.iter().map(period_text).collect();
        let state = if a.present { "có mặt" } else { "vắng" };
        s.push_str(&format!("  - {} ({}): {state}", a.unit_name, a.unit));
        if !periods.is_empty() {
            s.push_str(&format!("; {}", periods.join("; ")));
        }
        s.push('\n');
    }
    s.push_str(&format!("\nTài liệu: {}\n", docs.len()));
    for d in docs {
        s.push_str(&format!(
            "  - {} ({} byte, SHA-256 {})\n",
            d.filename, d.size, d.sha256
        ));
    }
    s
}
