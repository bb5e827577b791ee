//! WebSocket signaling (docs/protocol.md): typed messages, a pure per-session state
//! machine, the room roster, and the thin axum handler that drives them.
#![forbid(unsafe_code)]

pub mod chair;
mod handler;
pub mod limits;
mod media;
pub mod messages;
mod rate;
mod roster;
mod roster_chair;
pub mod session;
mod sfu;

pub use limits::SignalingConfig;
pub use media::{BoxFuture, MediaPlane};
pub use messages::{ClientMsg, ErrorCode, ServerMsg};
pub use rate::TokenBucket;
pub use roster::Roster;

use bridge_token::TokenKey;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::watch;

/// The signaling service: cheap to clone, shared by every session.
#[derive(Clone)]
pub struct Signaling {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<SignalingConfig>,
    media: Arc<dyn MediaPlane>,
    key: TokenKey,
    roster: Roster,
    shutdown: watch::Sender<bool>,
    sessions: watch::Sender<usize>,
}

/// Counters for `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignalingStats {
    pub sessions: usize,
    pub rooms: usize,
    pub participants: usize,
}

impl Signaling {
    pub fn new(config: SignalingConfig, media: Arc<dyn MediaPlane>, key: TokenKey) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                media,
                key,
                roster: Roster::default(),
                shutdown: watch::Sender::new(false),
                sessions: watch::Sender::new(0),
            }),
        }
    }

    /// A router with `GET /ws`, ready to merge into the application's router.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/ws", axum::routing::get(handler::upgrade))
            .with_state(self.clone())
    }

    pub fn config(&self) -> &SignalingConfig {
        &self.inner.config
    }

    pub fn media(&self) -> &Arc<dyn MediaPlane> {
        &self.inner.media
    }

    pub fn roster(&self) -> &Roster {
        &self.inner.roster
    }

    pub fn stats(&self) -> SignalingStats {
        let (rooms, participants) = self.inner.roster.counts();
        SignalingStats {
            sessions: *self.inner.sessions.borrow(),
            rooms,
            participants,
        }
    }

    /// Tells every session to say `bye {reason: "shutdown"}` and close, and waits
    /// (at most `shutdown_grace`) until they have. New sessions are refused the same
    /// way from now on.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let mut sessions = self.inner.sessions.subscribe();
        let all_closed = sessions.wait_for(|n| *n == 0);
        if tokio::time::timeout(self.inner.config.shutdown_grace, all_closed)
            .await
            .is_err()
        {
            tracing::warn!(
                left = *self.inner.sessions.borrow(),
                "sessions still open after the shutdown grace period"
            );
        }
    }
}
