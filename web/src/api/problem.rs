//! Errors as RFC 9457 problem details, with messages in English and Vietnamese: a secretary
//! reads `title_vi`/`detail_vi`, an integrator reads `code`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::SchedError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A problem-details body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `conflict`.
    pub code: String,
    pub title: String,
    pub title_vi: String,
    pub detail: String,
    pub detail_vi: String,
    /// Unknown unit codes or import problems, when relevant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &str,
        title: (&str, &str),
        detail: String,
        detail_vi: String,
    ) -> Self {
        Problem {
            kind: format!("/api/problems/{code}"),
            status: status.as_u16(),
            code: code.to_owned(),
            title: title.0.to_owned(),
            title_vi: title.1.to_owned(),
            detail,
            detail_vi,
            items: Vec::new(),
        }
    }

    pub fn unauthenticated() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            ("Not signed in", "Chưa đăng nhập"),
            "Sign in or send an API token.".into(),
            "Vui lòng đăng nhập hoặc gửi mã API.".into(),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, axum::Json(&self)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

fn field_vi(f: &str) -> &str {
    match f {
        "title" => "tiêu đề",
        "start" => "thời gian bắt đầu",
        "end" => "thời gian kết thúc",
        "location" => "địa điểm",
        "agenda" => "chương trình họp",
        "participants" => "đơn vị dự họp",
        "recurrence" => "lịch lặp lại",
        "meeting" => "cuộc họp",
        "password" => "mật khẩu",
        "username" => "tên đăng nhập",
        "unit" | "unit code" => "đơn vị",
        "file" => "tệp",
        "filename" => "tên tệp",
        "documents" => "tài liệu",
        "account" => "tài khoản",
        other => other,
    }
}

impl From<SchedError> for Problem {
    fn from(e: SchedError) -> Self {
        use StatusCode as S;
        let en = e.to_string();
        match e {
            SchedError::Invalid { field, reason } => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_input",
                ("Invalid input", "Dữ liệu không hợp lệ"),
                en,
                format!("{} không hợp lệ ({reason}).", field_vi(field)),
            ),
            SchedError::TooLarge {
                what: "file",
                limit,
                ..
            } => Problem::new(
                S::PAYLOAD_TOO_LARGE,
                "too_large",
                ("File too large", "Tệp quá lớn"),
                format!("Files may be at most {} MB.", mb(limit)),
                format!("Tệp tải lên tối đa {} MB; tệp này lớn hơn.", mb(limit)),
            ),
            SchedError::TooLarge { what, size, limit } => Problem::new(
                S::PAYLOAD_TOO_LARGE,
                "too_large",
                ("Too large", "Dữ liệu quá lớn"),
                en,
                format!("{} dài {size} byte, tối đa {limit} byte.", field_vi(what)),
            ),
            SchedError::UnknownUnits(units) => Problem {
                items: units.clone(),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "unknown_units",
                    ("Unknown units", "Không tìm thấy đơn vị"),
                    en,
                    format!("Không có đơn vị mã: {}.", units.join(", ")),
                )
            },
            SchedError::Import(problems) => Problem {
                items: problems.iter().map(ToString::to_string).collect(),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "import_refused",
                    ("Unit list refused", "Tệp danh sách đơn vị có lỗi"),
                    en,
                    format!("Không nhập gì cả: {} lỗi, xem danh sách.", problems.len()),
                )
            },
            SchedError::NotFound { kind, id } => Problem::new(
                S::NOT_FOUND,
                "not_found",
                ("Not found", "Không tìm thấy"),
                en,
                format!("Không tìm thấy {} {id}.", field_vi(kind)),
            ),
            SchedError::Conflict { expected, current } => Problem::new(
                S::CONFLICT,
                "conflict",
                ("Edited by someone else", "Cuộc họp đã được người khác sửa"),
                en,
                format!(
                    "Bạn sửa phiên bản {expected} nhưng phiên bản hiện tại là {current}. \
                     Hãy tải lại trang rồi sửa lại; không có gì bị mất."
                ),
            ),
            SchedError::Forbidden(why) => Problem::new(
                S::FORBIDDEN,
                "forbidden",
                ("Forbidden", "Không có quyền"),
                en,
                format!("Bạn không có quyền thực hiện thao tác này ({why})."),
            ),
            SchedError::Unauthenticated => Problem::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                (
                    "Wrong username or password",
                    "Sai tên đăng nhập hoặc mật khẩu",
                ),
                en,
                "Kiểm tra lại tên đăng nhập và mật khẩu.".into(),
            ),
            SchedError::AccountDisabled => Problem::new(
                S::FORBIDDEN,
                "account_disabled",
                ("Account disabled", "Tài khoản đã bị khóa"),
                "An administrator has disabled this account; ask them to enable it.".into(),
                "Quản trị viên đã khóa tài khoản này; hãy liên hệ quản trị viên để mở lại.".into(),
            ),
            SchedError::WrongPassword => Problem::new(
                S::FORBIDDEN,
                "wrong_password",
                ("Wrong current password", "Mật khẩu hiện tại không đúng"),
                en,
                "Mật khẩu hiện tại không đúng; mật khẩu chưa được đổi.".into(),
            ),
            SchedError::UsernameTaken(u) => Problem::new(
                S::CONFLICT,
                "username_taken",
                ("Username taken", "Tên đăng nhập đã tồn tại"),
                en,
                format!("Tên đăng nhập {u} đã có người dùng."),
            ),
            SchedError::Recurrence(why) => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_recurrence",
                ("Invalid recurrence", "Lịch lặp lại không hợp lệ"),
                en,
                format!("Quy tắc lặp lại không hợp lệ ({why})."),
            ),
            SchedError::Io(ref io) if io.kind() == std::io::ErrorKind::StorageFull => {
                tracing::error!(error = %en, "storage full");
                Problem::new(
                    S::INSUFFICIENT_STORAGE,
                    "storage_full",
                    ("Server storage full", "Máy chủ hết dung lượng lưu trữ"),
                    "The server's disk is full; nothing was stored. Tell the administrator.".into(),
                    "Ổ đĩa máy chủ đã đầy, tệp chưa được lưu. Hãy báo quản trị viên.".into(),
                )
            }
            SchedError::Db(_)
            | SchedError::Io(_)
            | SchedError::Migrate(_)
            | SchedError::Token(_)
            | SchedError::Password(_) => {
                tracing::error!(error = %en, "scheduler internal error");
                Problem::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    ("Internal error", "Lỗi hệ thống"),
                    "Something went wrong on the server; try again.".into(),
                    "Máy chủ gặp lỗi; vui lòng thử lại.".into(),
                )
            }
        }
    }
}

/// Megabytes for messages, rounded down: limits are set in whole MB.
fn mb(bytes: usize) -> usize {
    bytes / (1024 * 1024)
}

/// `Json<T>` whose rejections (bad JSON, too large) are problem details too.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_problem(rej)),
        }
    }
}

fn json_problem(rej: JsonRejection) -> Problem {
    let status = rej.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::new(
            status,
            "too_large",
            ("Request too large", "Dữ liệu gửi lên quá lớn"),
            rej.body_text(),
            format!("Dữ liệu gửi lên vượt quá {} byte.", super::MAX_BODY_BYTES),
        );
    }
    Problem::new(
        status,
        "bad_json",
        ("Malformed request", "Dữ liệu gửi lên sai định dạng"),
        rej.body_text(),
        format!("Dữ liệu gửi lên sai định dạng: {}", rej.body_text()),
    )
}
