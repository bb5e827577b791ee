#![forbid(unsafe_code)]
//! End-to-end test support: the real `bridge` binary over loopback ([`server`]) and a
//! Rust WebRTC participant that speaks docs/protocol.md ([`client`]).

pub mod admin;
pub mod api;
pub mod browser;
pub mod client;
/// What a hall experiences, read from its page's own `getStats()` (thin-link tests).
pub mod hall_stats;
pub mod hearing;
pub mod impair;
pub mod media;
pub mod netns;
pub mod publish;
pub mod readers;
pub mod recv;
pub mod room_page;
pub mod rtc_setup;
pub mod sched_pages;
#[cfg(test)]
mod selftest;
pub mod server;
pub mod signal;
pub mod simulcast;
pub mod stun;
/// A hall's meeting with its province over an emulated thin link (thin-link tests).
pub mod thin_hall;

use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Held by each test of a file for its whole run: the tests of one binary would
/// otherwise run in parallel, each with its own server and clients, and on a 2-core
/// machine that turns timing into flakiness.
pub async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}
