//! The scheduler's REST API, mounted under `/api` by the binary:
//! `Router::new().nest("/api", api::router(state))`. OpenAPI at `/api/openapi.json`.

mod account;
mod archive;
mod archive_search;
mod archive_zip;
mod auth;
mod documents;
mod events;
mod invite_mail;
mod login_guard;
mod meetings;
mod minutes;
mod minutes_files;
mod problem;
mod recordings;
mod session;
mod stored_file;
mod units;
mod urgent;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{get, post};
use axum::{Json, Router};
use bridge_scheduler::Db;
use bridge_scheduler::documents::DocumentStore;
use bridge_token::TokenKey;
use time::OffsetDateTime;
use utoipa::OpenApi;

pub use events::Events;
pub use minutes_files::{SharedSigner, load_signer};
pub use problem::Problem;

/// Largest JSON body accepted; the agenda limit (64 KiB) is checked by the scheduler.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the API needs; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub token_key: TokenKey,
    /// Base URL of join links, e.g. `https://bridge.phutho.gov.vn` (no trailing slash).
    pub public_url: String,
    /// Domain of the calendar addresses of units in .ics files.
    pub mail_domain: String,
    /// Add `Secure` to the session cookie (when served over HTTPS).
    pub secure_cookies: bool,
    /// Live alerts to open dashboards.
    pub events: Events,
    /// Outgoing invitation mail; `None` when no SMTP server is configured.
    pub mail: Option<bridge_scheduler::mail::MailQueue>,
    /// Where meeting documents are kept; `None` answers 503 on document routes.
    pub documents: Option<DocumentStore>,
    /// The data folder: recordings are read from `recordings/<meeting>/`, meeting-file
    /// ZIPs are built in `archives/`. `None` answers 503 on the ZIP route.
    pub data_dir: Option<std::path::PathBuf>,
    /// The clock; tests replace it.
    pub clock: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>,
    /// Signs final minutes (PAdES); `None` answers 503 on the signing route.
    pub signer: Option<SharedSigner>,
    /// Bounds Argon2 work and slows password guessing (login_guard.rs).
    pub login_guard: Arc<login_guard::LoginGuard>,
    /// The node's signaling, for the administrator's health detail; `None` answers 503.
    pub signaling: Option<bridge_signaling::Signaling>,
}

impl ApiState {
    pub fn new(db: Db, token_key: TokenKey, public_url: &str) -> Self {
        ApiState {
            db,
            token_key,
            public_url: public_url.trim_end_matches('/').to_owned(),
            mail_domain: "bridge.invalid".into(),
            secure_cookies: public_url.starts_with("https:"),
            events: Events::default(),
            documents: None,
            data_dir: None,
            mail: None,
            clock: Arc::new(OffsetDateTime::now_utc),
            signer: None,
            login_guard: Arc::default(),
            signaling: None,
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// The link a hall opens to join: the room page with its token (docs/protocol.md).
    pub fn join_url(&self, room: &str, token: &str) -> String {
        format!("{}/r/{room}?t={token}", self.public_url)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Bridge scheduler API", description = "Units, accounts, meetings. Errors are application/problem+json with English and Vietnamese messages."),
    servers((url = "/api")),
    paths(
        session::login, session::logout, session::me,
        account::change_password, account::disable, account::enable, account::health,
        units::roots, units::children, units::unit, units::subtree, units::search, units::upcoming, units::chairs,
        events::unit_events,
        meetings::list, meetings::create, urgent::urgent, urgent::preview, urgent::pending, meetings::get_one, meetings::update, meetings::cancel,
        meetings::acknowledge, meetings::join, meetings::ics,
        documents::upload, documents::list, documents::download, documents::delete,
        minutes::get_minutes, minutes::put_minutes, minutes::finalize_minutes,
        minutes::minutes_versions, minutes::minutes_version,
        minutes::get_notice, minutes::put_notice, minutes::finalize_notice,
        minutes::notice_versions, minutes::notice_version, minutes::share_minutes, minutes::share_notice,
        minutes::unit_tasks, minutes::task_status, minutes::set_status,
        minutes_files::minutes_pdf, minutes_files::minutes_docx, minutes_files::minutes_edxml,
        minutes_files::notice_pdf, minutes_files::notice_docx, minutes_files::notice_edxml,
        minutes_files::sign, minutes_files::signed_pdf,
        archive::attendance, archive::attendance_csv, archive::archive_zip, archive_search::search,
        recordings::list, recordings::download,
    ),
    components(schemas(Problem))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// All API routes, relative to `/api`.
pub fn router(state: ApiState) -> Router {
    // The file limit is enforced while streaming (413, nothing kept); the body limit only
    // leaves room for the multipart framing around one file.
    let upload_limit = state
        .documents
        .as_ref()
        .map_or(0, |d| d.max_bytes() as usize)
        .saturating_add(1024 * 1024);
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/me/password", post(account::change_password))
        .route("/admin/users/{username}/disable", post(account::disable))
        .route("/admin/users/{username}/enable", post(account::enable))
        .route("/admin/health", get(account::health))
        .route("/units", get(units::roots))
        .route("/units/search", get(units::search))
        .route("/units/{code}", get(units::unit))
        .route("/units/{code}/children", get(units::children))
        .route("/units/{code}/subtree", get(units::subtree))
        .route("/units/{code}/upcoming", get(units::upcoming))
        .route("/units/{code}/chairs", get(units::chairs))
        .route("/units/{code}/events", get(events::unit_events))
        .route("/meetings", get(meetings::list).post(meetings::create))
        .route("/meetings/urgent", post(urgent::urgent))
        .route("/meetings/urgent/preview", post(urgent::preview))
        .route("/units/{code}/pending-urgent", get(urgent::pending))
        .route("/meetings/search", get(archive_search::search))
        .route("/meetings/{id}/attendance", get(archive::attendance))
        .route(
            "/meetings/{id}/attendance.csv",
            get(archive::attendance_csv),
        )
        .route("/meetings/{id}/archive.zip", get(archive::archive_zip))
        .route(
            "/meetings/{id}",
            get(meetings::get_one).put(meetings::update),
        )
        .route("/meetings/{id}/cancel", post(meetings::cancel))
        .route("/meetings/{id}/ack/{unit}", post(meetings::acknowledge))
        .route("/meetings/{id}/join/{unit}", get(meetings::join))
        .route("/meetings/{id}/ics", get(meetings::ics))
        .route(
            "/meetings/{id}/documents",
            get(documents::list).post(documents::upload.layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route(
            "/meetings/{id}/documents/{doc}",
            get(documents::download).delete(documents::delete),
        )
        .route("/meetings/{id}/recordings", get(recordings::list))
        .route("/meetings/{id}/recordings/{rec}", get(recordings::download))
        .merge(minutes_routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Minutes, conclusion notice, their files and the tasks they assign.
fn minutes_routes() -> Router<ApiState> {
    use axum::routing::put;
    Router::new()
        .route(
            "/meetings/{id}/minutes",
            get(minutes::get_minutes).put(minutes::put_minutes),
        )
        .route(
            "/meetings/{id}/minutes/finalize",
            post(minutes::finalize_minutes),
        )
        .route(
            "/meetings/{id}/minutes/versions",
            get(minutes::minutes_versions),
        )
        .route(
            "/meetings/{id}/minutes/versions/{version}",
            get(minutes::minutes_version),
        )
        .route("/meetings/{id}/minutes/share", put(minutes::share_minutes))
        .route("/meetings/{id}/notice/share", put(minutes::share_notice))
        .route("/meetings/{id}/minutes/sign", post(minutes_files::sign))
        .route(
            "/meetings/{id}/minutes.pdf",
            get(minutes_files::minutes_pdf),
        )
        .route(
            "/meetings/{id}/minutes.docx",
            get(minutes_files::minutes_docx),
        )
        .route(
            "/meetings/{id}/minutes.edxml",
            get(minutes_files::minutes_edxml),
        )
        .route(
            "/meetings/{id}/minutes.signed.pdf",
            get(minutes_files::signed_pdf),
        )
        .route(
            "/meetings/{id}/notice",
            get(minutes::get_notice).put(minutes::put_notice),
        )
        .route(
            "/meetings/{id}/notice/finalize",
            post(minutes::finalize_notice),
        )
        .route(
            "/meetings/{id}/notice/versions",
            get(minutes::notice_versions),
        )
        .route(
            "/meetings/{id}/notice/versions/{version}",
            get(minutes::notice_version),
        )
        .route("/meetings/{id}/notice.pdf", get(minutes_files::notice_pdf))
        .route(
            "/meetings/{id}/notice.docx",
            get(minutes_files::notice_docx),
        )
        .route(
            "/meetings/{id}/notice.edxml",
            get(minutes_files::notice_edxml),
        )
        .route("/units/{code}/tasks", get(minutes::unit_tasks))
        .route("/units/{code}/task-status", get(minutes::task_status))
        .route("/tasks/{id}/status", put(minutes::set_status))
}
