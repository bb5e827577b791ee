//! The minutes and the notice as files: PDF, DOCX and edXML rendered on request (in a
//! blocking task: rendering is CPU work), and the PAdES-signed PDF of final minutes,
//! signed once and then served as stored.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_minutes::edxml::{self, Recipient};
use bridge_minutes::sign::{SignError, Signer};
use bridge_minutes::{DocNumber, RenderError, docx};
use bridge_scheduler::Principal;
use bridge_scheduler::minutes_store::{DocKind, DocMeta, DocState, MinutesError};
use serde::Serialize;
use time::OffsetDateTime;

use super::ApiState;
use super::auth::Caller;
use super::minutes::meeting_id;
use super::problem::Problem;
use super::stored_file::content_disposition;

/// The configured signing key, shared by all requests.
pub type SharedSigner = Arc<dyn Signer + Send + Sync>;

#[derive(Debug, Clone, Copy)]
enum Format {
    Pdf,
    Docx,
    Edxml,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Edxml => "edxml",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Edxml => "application/xml",
        }
    }
}

fn file_name(kind: DocKind, number: Option<DocNumber>, ext: &str) -> String {
    let stem = match kind {
        DocKind::Minutes => "bien-ban",
        DocKind::Notice => "thong-bao-ket-luan",
    };
    match number {
        Some(n) => format!("{stem}-{:02}-{}.{ext}", n.seq, n.year),
        None => format!("{stem}-du-thao.{ext}"),
    }
}

fn file(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn render_problem(e: RenderError) -> Problem {
    match e {
        RenderError::TooLarge { bytes, limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            ("Document too long", "Văn bản quá dài"),
            e.to_string(),
            format!("Văn bản có {bytes} byte chữ, tối đa {limit} byte."),
        ),
        other => internal(other.to_string()),
    }
}

fn internal(why: String) -> Problem {
    tracing::error!(error = %why, "rendering failed");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        ("Internal error", "Lỗi hệ thống"),
        "The document could not be produced; try again.".into(),
        "Không tạo được tệp văn bản; vui lòng thử lại.".into(),
    )
}

/// Runs CPU-heavy work off the async threads.
async fn blocking<T: Send + 'static, E: Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<Result<T, E>, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(format!("render task: {e}")))
}

async fn recipients(
    st: &ApiState,
    id: bridge_scheduler::MeetingId,
) -> Result<Vec<Recipient>, Problem> {
    Ok(st
        .db
        .invited_units(id)
        .await?
        .into_iter()
        .map(|(code, name)| Recipient {
            organ_id: code.to_string(),
            organ_name: name,
        })
        .collect())
}

async fn minutes_file(
    st: ApiState,
    p: Principal,
    id: &str,
    fmt: Format,
) -> Result<Response, Problem> {
    let (name, bytes) = render_minutes(&st, &p, meeting_id(id)?, fmt).await?;
    Ok(file(bytes, fmt.content_type(), &name))
}

async fn notice_file(
    st: ApiState,
    p: Principal,
    id: &str,
    fmt: Format,
) -> Result<Response, Problem> {
    let (name, bytes) = render_notice(&st, &p, meeting_id(id)?, fmt).await?;
    Ok(file(bytes, fmt.content_type(), &name))
}

/// A document's state for the archive. An unshared draft is refused to an invited unit;
/// drafts are left out of the archive either way, so that refusal must not fail it.
fn archive_state(r: Result<DocMeta, MinutesError>) -> Result<Option<DocMeta>, MinutesError> {
    match r {
        Ok(meta) => Ok(Some(meta)),
        Err(MinutesError::DraftNotShared { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a meeting issued, for its archive: the final minutes (PDF, DOCX, and the signed
/// PDF once signed) and the final notice (PDF, DOCX). Drafts stay out of the meeting's
/// file, and so does edXML, which is for the document system and stamped with the time
/// it is made.
pub async fn issued_files(
    st: &ApiState,
    p: &Principal,
    id: bridge_scheduler::MeetingId,
) -> Result<Vec<(String, Vec<u8>)>, Problem> {
    let mut out = Vec::new();
    let minutes = archive_state(st.db.minutes(p, id).await.map(|r| r.meta))?;
    if let Some(minutes) = minutes.filter(|m| m.state == DocState::Final) {
        for fmt in [Format::Pdf, Format::Docx] {
            out.push(render_minutes(st, p, id, fmt).await?);
        }
        if minutes.signed_at.is_some() {
            let (pdf, _) = st.db.signed_minutes(p, id).await?;
            out.push((
                file_name(DocKind::Minutes, minutes.number, "signed.pdf"),
                pdf,
            ));
        }
    }
    let notice = archive_state(st.db.notice(p, id).await.map(|r| r.meta))?;
    if notice.is_some_and(|n| n.state == DocState::Final) {
        for fmt in [Format::Pdf, Format::Docx] {
            out.push(render_notice(st, p, id, fmt).await?);
        }
    }
    Ok(out)
}

async fn render_minutes(
    st: &ApiState,
    p: &Principal,
    id: bridge_scheduler::MeetingId,
    fmt: Format,
) -> Result<(String, Vec<u8>), Problem> {
    let rec = st.db.minutes(p, id).await?;
    let name = file_name(DocKind::Minutes, rec.meta.number, fmt.ext());
    // The package carries the signed PDF once there is one: that is the issued document.
    let signed = match (fmt, rec.meta.signed_at) {
        (Format::Edxml, Some(_)) => Some(st.db.signed_minutes(p, id).await?.0),
        _ => None,
    };
    let to = recipients(st, id).await?;
    let now = st.now();
    let m = rec.minutes;
    let bytes = blocking(move || -> Result<Vec<u8>, RenderError> {
        match fmt {
            Format::Pdf => Ok(bridge_minutes::minutes_pdf(&m)?.bytes),
            Format::Docx => docx::minutes_docx(&m),
            Format::Edxml => {
                let pdf = match signed {
                    Some(s) => s,
                    None => bridge_minutes::minutes_pdf(&m)?.bytes,
                };
                edxml::minutes_edxml(&m, &pdf, &to, now)
            }
        }
    })
    .await?
    .map_err(render_problem)?;
    Ok((name, bytes))
}

async fn render_notice(
    st: &ApiState,
    p: &Principal,
    id: bridge_scheduler::MeetingId,
    fmt: Format,
) -> Result<(String, Vec<u8>), Problem> {
    let (meta, n) = st.db.notice_for_render(p, id).await?;
    let name = file_name(DocKind::Notice, meta.number, fmt.ext());
    let to = recipients(st, id).await?;
    let now = st.now();
    let bytes = blocking(move || -> Result<Vec<u8>, RenderError> {
        match fmt {
            Format::Pdf => Ok(bridge_minutes::notice_pdf(&n)?.bytes),
            Format::Docx => docx::notice_docx(&n),
            Format::Edxml => {
                let pdf = bridge_minutes::notice_pdf(&n)?.bytes;
                edxml::notice_edxml(&n, &pdf, &to, now)
            }
        }
    })
    .await?
    .map_err(render_problem)?;
    Ok((name, bytes))
}

macro_rules! file_route {
    ($name:ident, $render:ident, $fmt:expr, $path:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(get, path = $path,
                    responses((status = 200, description = $what), (status = 403, body = Problem)))]
        pub async fn $name(
            State(st): State<ApiState>,
            Caller(p): Caller,
            Path(id): Path<String>,
        ) -> Result<Response, Problem> {
            $render(st, p, &id, $fmt).await
        }
    };
}

file_route!(
    minutes_pdf,
    minutes_file,
    Format::Pdf,
    "/meetings/{id}/minutes.pdf",
    "The minutes as PDF (a draft has a blank number)."
);
file_route!(
    minutes_docx,
    minutes_file,
    Format::Docx,
    "/meetings/{id}/minutes.docx",
    "The minutes as DOCX."
);
file_route!(
    minutes_edxml,
    minutes_file,
    Format::Edxml,
    "/meetings/{id}/minutes.edxml",
    "The minutes as an edXML package (QCVN 102:2016)."
);
file_route!(
    notice_pdf,
    notice_file,
    Format::Pdf,
    "/meetings/{id}/notice.pdf",
    "The conclusion notice as PDF."
);
file_route!(
    notice_docx,
    notice_file,
    Format::Docx,
    "/meetings/{id}/notice.docx",
    "The conclusion notice as DOCX."
);
file_route!(
    notice_edxml,
    notice_file,
    Format::Edxml,
    "/meetings/{id}/notice.edxml",
    "The conclusion notice as an edXML package."
);

fn signing_disabled() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "signing_disabled",
        ("Signing is not configured", "Chưa cấu hình chữ ký số"),
        "This server has no signing certificate (--signing-p12).".into(),
        "Máy chủ chưa được cấu hình chứng thư số để ký; hãy báo quản trị viên.".into(),
    )
}

fn sign_problem(e: SignError) -> Problem {
    let en = e.to_string();
    match e {
        SignError::CertificateExpired { .. } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "certificate_expired",
            ("Signing certificate not valid", "Chứng thư số hết hiệu lực"),
            en,
            "Chứng thư số của máy chủ không còn hiệu lực; hãy báo quản trị viên.".into(),
        ),
        SignError::NotFinalized => Problem::new(
            StatusCode::CONFLICT,
            "not_final",
            ("Not final", "Biên bản chưa ban hành"),
            en,
            "Biên bản còn là dự thảo: hãy ban hành (cấp số) trước khi ký số.".into(),
        ),
        SignError::Render(r) => render_problem(r),
        other => internal(other.to_string()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Signed {
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    pub size: usize,
}

/// Signs the final minutes with the server's certificate (PAdES B-B) and keeps the
/// signed PDF; 503 when no certificate is configured, 409 when a draft or signed.
#[utoipa::path(post, path = "/meetings/{id}/minutes/sign",
    responses((status = 201, body = Signed), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn sign(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Signed>), Problem> {
    let id = meeting_id(&id)?;
    let signer = st.signer.clone().ok_or_else(signing_disabled)?;
    let version = st.db.check_sign_minutes(&p, id).await?;
    let m = st.db.minutes(&p, id).await?.minutes;
    let now = st.now();
    let pdf = blocking(move || bridge_minutes::sign::sign_minutes(&m, signer.as_ref(), now))
        .await?
        .map_err(sign_problem)?;
    st.db
        .store_signed_minutes(&p, id, version, &pdf, now)
        .await?;
    tracing::info!(meeting = %id, size = pdf.len(), "minutes signed");
    Ok((
        StatusCode::CREATED,
        Json(Signed {
            signed_at: now,
            size: pdf.len(),
        }),
    ))
}

/// The signed minutes exactly as signed.
#[utoipa::path(get, path = "/meetings/{id}/minutes.signed.pdf",
    responses((status = 200, description = "the signed PDF"), (status = 404, body = Problem)))]
pub async fn signed_pdf(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = meeting_id(&id)?;
    let number = st.db.minutes(&p, id).await?.meta.number;
    let (pdf, _) = st.db.signed_minutes(&p, id).await?;
    let name = file_name(DocKind::Minutes, number, "signed.pdf");
    Ok(file(pdf, "application/pdf", &name))
}

/// Opens the signing certificate file at start-up, so a wrong password or a damaged
/// file stops the server with a clear message instead of failing the first signature.
pub fn load_signer(path: &std::path::Path, password: &str) -> anyhow::Result<SharedSigner> {
    use anyhow::Context;
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the signing certificate {}", path.display()))?;
    let signer = bridge_minutes::sign::Pkcs12Signer::from_der(&bytes, password)
        .with_context(|| format!("opening the signing certificate {}", path.display()))?;
    Ok(Arc::new(signer))
}
