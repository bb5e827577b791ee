//! The HTTP face: health, signaling, the UI pages and their static files.

use crate::assets;
use crate::error::AppError;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use bridge_signaling::Signaling;
use bridge_signaling::limits::HTTP_BODY_LIMIT;
use tower_http::limit::RequestBodyLimitLayer;

#[derive(Clone)]
pub struct AppState {
    pub signaling: Signaling,
}

pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/r/{room}", get(room))
        .route("/static/{*path}", get(static_file))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(HTTP_BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(HTTP_BODY_LIMIT))
        .with_state(state.clone());
    // /ws has its own limit (per WebSocket message), set by the signaling handler.
    pages.merge(state.signaling.router())
}

async fn healthz(State(state): State<AppState>) -> Response {
    let sfu = state.signaling.media().stats().await;
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "signaling": state.signaling.stats(),
        "sfu": sfu,
    }))
    .into_response()
}

async fn index(headers: HeaderMap) -> Result<Response, AppError> {
    assets::serve("index.html", &headers)
}

/// The room page; the room id and token are read by the page's script from the URL.
async fn room(Path(_room): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    assets::serve("room.html", &headers)
}

async fn static_file(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    assets::serve(&path, &headers)
}

async fn not_found(uri: axum::http::Uri) -> (StatusCode, Response) {
    (
        StatusCode::NOT_FOUND,
        AppError::NotFound(uri.path().to_owned()).into_response(),
    )
}
