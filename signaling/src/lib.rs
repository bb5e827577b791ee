//! WebSocket signaling (docs/protocol.md): typed messages, a pure per-session state
//! machine, the room roster, and the thin axum handler that drives them.
#![forbid(unsafe_code)]

pub mod chair;
pub mod directory;
mod early;
mod handler;
mod held_out;
pub mod limits;
mod live;
mod media;
pub mod messages;
pub mod quality;
mod rate;
mod resume;
pub mod rollcall;
mod roster;
mod roster_chair;
mod roster_links;
mod roster_presence;
pub mod session;
mod sfu;
mod speaking;

pub use directory::{RoomDirectory, RoomEvent, RoomInfo};
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
    directory: std::sync::OnceLock<Arc<dyn RoomDirectory>>,
    shutdown: watch::Sender<bool>,
    sessions: watch::Sender<usize>,
    /// Sockets that have not joined yet (handler.rs `Unjoined`).
    unjoined: std::sync::atomic::AtomicUsize,
    /// Join tokens of removed participants, refused until they expire.
    held_out: held_out::HeldOut,
    /// Credentials of the sessions a new socket may resume.
    resumes: resume::Resumes,
    /// The session holding each join token: a second join takes its place over.
    live: live::LiveTokens,
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
                directory: std::sync::OnceLock::new(),
                shutdown: watch::Sender::new(false),
                sessions: watch::Sender::new(0),
                unjoined: std::sync::atomic::AtomicUsize::new(0),
                held_out: held_out::HeldOut::default(),
                resumes: resume::Resumes::default(),
                live: live::LiveTokens::default(),
            }),
        }
    }

    /// Where room titles and expected sites come from (the scheduler, in the binary).
    /// Set once, before serving; a second call is ignored.
    pub fn set_directory(&self, directory: Arc<dyn RoomDirectory>) {
        let _ = self.inner.directory.set(directory);
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
