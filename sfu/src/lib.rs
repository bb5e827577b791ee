//! The media plane. All WebRTC connections share one UDP socket (and one ICE-TCP
//! listener); the driver owns the sockets and feeds datagrams into sans-IO `rtc`
//! connections, the forwarding core decides what goes where with time passed in.
//!
//! The rest of the system talks to the media plane only through [`SfuHandle`]
//! (commands) and [`SfuEvent`] (per-participant events).
#![forbid(unsafe_code)]

mod api;
mod demux;
mod driver;
mod engine;
pub mod forward;
mod media;
mod negotiate;
mod state;
mod udp_batch;

#[cfg(test)]
mod browser_sdp_tests;

pub use api::*;
pub use driver::{Sfu, SfuHandle};
