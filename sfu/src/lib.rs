//! The media plane. All WebRTC connections share one UDP socket (and one ICE-TCP
//! listener); the driver owns the sockets and feeds datagrams into sans-IO `rtc`
//! connections, the forwarding core decides what goes where with time passed in.
//!
//! The rest of the system talks to the media plane only through [`SfuHandle`]
//! (commands) and [`SfuEvent`] (per-participant events).
//!
//! Where things live:
//! - `driver`: [`Sfu::start`], the handle, the loop thread (its own current-thread
//!   runtime); batches receives, then one `sendmmsg` per turn (`udp_batch`); `tcp`
//!   is the ICE-TCP side (RFC 4571 frames in, frames out).
//! - `state`: all state, owned by the loop, no sockets: connections by id, flows
//!   (protocol, remote address) and local ICE ufrags to connections (`demux` reads
//!   the ufrag of a first binding request), rooms, participants, published tracks.
//! - `negotiate`: publish offer/answer, subscribe offers (one outstanding at a time,
//!   paced by the room's size), `slots`: which track fills each subscribe m-line,
//!   `media`: inbound RTP fanned out, PLI/FIR/NACK from subscribers, `lifecycle`:
//!   join/leave/candidates/stats and containing a panicking connection, `links`:
//!   linked rooms sharing one media group, `tap`: copies of a room's media for the
//!   recorder, `mix`/`mix_live`/`mix_state`: one server-mixed Opus stream for an
//!   audio-only hall (the rules, the worker thread per media group, the loop's side).
//! - [`forward`]: the pure core (rewriting, keyframe aggregation, packet cache,
//!   NACK cap), unit-tested on a virtual clock.
//! - [`pacer`]: per subscriber, video paced under the link's estimate and audio
//!   ahead of it (pure core + the interceptor that runs it in the subscribe
//!   connection); it publishes what the layer selection reads of the link.
//! - `engine`: codecs (Opus with in-band FEC and DTX + audio level, VP8, H.264
//!   42e01f; no RTX), interceptors (capped NACK generator, TWCC feedback and receiver
//!   reports on publish; sender reports, GCC from 300 kbit/s and the pacer on
//!   subscribe; inbound PLI/FIR/NACK marked for the application), SRTP profiles with
//!   AES-GCM first, host candidates on the shared ports.
#![forbid(unsafe_code)]

mod api;
mod demux;
mod driver;
mod engine;
mod estimate;
pub mod forward;
mod gate;
pub mod layers;
mod lifecycle;
mod links;
mod media;
mod mix;
mod mix_live;
mod mix_state;
mod negotiate;
pub mod pacer;
mod publish_tracks;
mod simulcast;
mod slots;
pub mod speaker;
mod state;
mod tap;
mod tcp;
mod udp_batch;

#[cfg(test)]
mod browser_sdp_tests;

pub use api::*;
pub use driver::{Sfu, SfuHandle};
pub use layers::View;
pub use tap::{MAX_TAP_CAPACITY, Tap, TapEvent, TapPacket};
