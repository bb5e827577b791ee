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

/// Unauthenticated, for load balancers and monitors: whether the node serves, and coarse
/// counters. Nothing that names a room, a link or a person (rooms' ids are meetings'
/// ids and join paths); administrators get the detail at `/api/admin/health`.
async fn healthz(State(state): State<AppState>) -> Response {
    let sfu = state.signaling.media().stats().await;
    Json(serde_json::json!({
        "status": "ok",
        "signaling": state.signaling.stats(),
        "sfu": {
            "rooms": sfu.rooms,
            "participants": sfu.participants,
            "connections": sfu.connections,
            "published_tracks": sfu.published_tracks,
            "packets_in": sfu.packets_in,
            "packets_forwarded": sfu.packets_forwarded,
            "bytes_forwarded": sfu.bytes_forwarded,
            "keyframe_requests_sent": sfu.keyframe_requests_sent,
            "retransmissions": sfu.retransmissions,
            "dropped_datagrams": sfu.dropped_datagrams,
        },
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
