//! Taps: a copy of a room's published media for a consumer outside the media loop
//! (the meeting recorder). The loop copies each inbound RTP packet of the tapped
//! room's media group (after SRTP, as plain RTP, and only what would be forwarded:
//! a microphone closed by the chair is not tapped) and every speaker-ranking change
//! into a bounded channel with `try_send`. A full channel drops the event and counts
//! it: the media loop never waits for a consumer.
//!
//! A tap names a room; it sees that room's whole media group (links.rs), so a tap on
//! a meeting's room records the unit rooms linked into it too. One tap per room: a
//! second replaces the first. A tap whose receiver is dropped is removed at the next
//! event.

use crate::api::*;
use crate::driver::{Command, SfuHandle};
use crate::state::State;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

/// Most events a tap's channel holds (about 5 s of a busy meeting's packets).
pub const MAX_TAP_CAPACITY: usize = 16_384;

/// One RTP packet of a published track, as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct TapPacket {
    pub track_id: TrackId,
    pub participant_id: ParticipantId,
    pub source: TrackSource,
    /// The codec's MIME type (`audio/opus`, `video/VP8`, ...).
    pub mime: String,
    /// Simulcast layer (0 lowest; 0 for a video without simulcast, and audio).
    pub layer: u8,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
    pub at: Instant,
}

/// What a tap delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum TapEvent {
    Rtp(TapPacket),
    /// The group's loudest speakers changed (at most three, loudest first).
    Speakers {
        ordered: Vec<ParticipantId>,
    },
}

/// The consumer's end of a tap. Dropping it stops the tap.
pub struct Tap {
    pub events: mpsc::Receiver<TapEvent>,
    dropped: Arc<AtomicU64>,
}

impl Tap {
    /// Events dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

pub(crate) struct TapSink {
    tx: mpsc::Sender<TapEvent>,
    dropped: Arc<AtomicU64>,
}

pub(crate) enum TapCommand {
    Start { room: RoomId, sink: TapSink },
    Stop { room: RoomId },
    Keyframe { track: TrackId },
}

/// The taps, by tapped room.
#[derive(Default)]
pub struct Taps {
    by_room: HashMap<RoomId, TapSink>,
}

impl SfuHandle {
    /// Starts tapping `room`'s media group into a channel of `capacity` events (at
    /// most [`MAX_TAP_CAPACITY`]).
    pub fn start_tap(&self, room: &RoomId, capacity: usize) -> Result<Tap, SfuError> {
        let (tx, events) = mpsc::channel(capacity.clamp(1, MAX_TAP_CAPACITY));
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = TapSink {
            tx,
            dropped: dropped.clone(),
        };
        self.send_tap(TapCommand::Start {
            room: room.clone(),
            sink,
        })?;
        Ok(Tap { events, dropped })
    }

    /// Stops tapping `room` (dropping the [`Tap`] does too).
    pub fn stop_tap(&self, room: &RoomId) -> Result<(), SfuError> {
        self.send_tap(TapCommand::Stop { room: room.clone() })
    }

    /// Asks the track's publisher for a keyframe (of its lowest layer), through the
    /// same rate-limiting gate as subscribers' requests.
    pub fn request_keyframe(&self, track: &TrackId) -> Result<(), SfuError> {
        self.send_tap(TapCommand::Keyframe {
            track: track.clone(),
        })
    }

    fn send_tap(&self, cmd: TapCommand) -> Result<(), SfuError> {
        self.send(Command::Tap(cmd))
    }
}

impl State {
    pub(crate) fn on_tap_command(&mut self, cmd: TapCommand, now: Instant) {
        match cmd {
            TapCommand::Start { room, sink } => {
                self.taps.by_room.insert(room, sink);
            }
            TapCommand::Stop { room } => {
                self.taps.by_room.remove(&room);
            }
            TapCommand::Keyframe { track } => {
                if self
                    .published
                    .get(&track)
                    .is_some_and(|t| !t.source.is_audio())
                {
                    self.request_keyframe(&track, 0, now);
                }
            }
        }
    }

    /// Published tracks a tap records: their lowest simulcast layer stays on even with
    /// nobody watching (a speaker alone in a recorded room is still recorded).
    pub(crate) fn recorded_tracks(&self) -> std::collections::HashSet<TrackId> {
        if self.taps.by_room.is_empty() {
            return Default::default();
        }
        let groups: std::collections::HashSet<&RoomId> =
            self.taps.by_room.keys().map(|r| self.group_of(r)).collect();
        self.published
            .iter()
            .filter(|(_, t)| groups.contains(self.group_of(&t.room)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Copies one inbound packet to the taps of its media group (media.rs).
    pub(crate) fn tap_rtp(
        &mut self,
        track_id: &TrackId,
        layer: usize,
        packet: &rtc::rtp::Packet,
        now: Instant,
    ) {
        if self.taps.by_room.is_empty() {
            return;
        }
        let Some(t) = self.published.get(track_id) else {
            return;
        };
        let copy = TapPacket {
            track_id: track_id.clone(),
            participant_id: t.owner.clone(),
            source: t.source,
            mime: t.codec.mime_type.clone(),
            layer: layer as u8,
            ssrc: packet.header.ssrc,
            sequence: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            marker: packet.header.marker,
            // Shares the packet's buffer: no copy of the media.
            payload: packet.payload.clone(),
            at: now,
        };
        let closed = self.deliver(self.group_of(&t.room), || TapEvent::Rtp(copy.clone()));
        for room in closed {
            self.taps.by_room.remove(&room);
        }
    }

    /// Tells the taps of `group` the new speaker ranking (gate.rs).
    pub(crate) fn tap_speakers(&self, group: &RoomId, ordered: &[ParticipantId]) {
        if self.taps.by_room.is_empty() {
            return;
        }
        self.deliver(group, || TapEvent::Speakers {
            ordered: ordered.to_vec(),
        });
    }

    /// Offers the event to every tap of `group`; returns the taps whose consumer is gone.
    fn deliver(&self, group: &RoomId, event: impl Fn() -> TapEvent) -> Vec<RoomId> {
        let mut closed = Vec::new();
        for (room, sink) in &self.taps.by_room {
            if self.group_of(room) != group {
                continue;
            }
            match sink.tx.try_send(event()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sink.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => closed.push(room.clone()),
            }
        }
        closed
    }
}
