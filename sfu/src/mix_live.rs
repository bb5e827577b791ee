//! The mixing worker of one media group: Opus packets and time in, one encoded 20 ms
//! frame per mix out. [`LiveMixer`] is pure (time is the offset since the worker
//! started); [`spawn`] runs it on its own thread, so decoding, mixing and encoding
//! never run on the media loop: the loop only copies packets into a bounded channel
//! (`try_send`, a full channel drops and counts, as taps do) and writes the frames
//! that come back as RTP (mix_state.rs).

use crate::api::{RoomId, TrackId};
use crate::mix::{MixKey, MixSpec};
use bridge_recorder::SourceId;
use bridge_recorder::mixer::{FRAME, FRAME_SAMPLES, Limiter, Mixer, SAMPLE_RATE};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The live mix waits this long for late packets (the recorder waits 200 ms): a slot
/// is mixed 40 to 60 ms after its time, which is what the hall hears as added delay.
pub const LIVE_JITTER: Duration = Duration::from_millis(40);
/// Bitrate of each mix: mono speech, with in-band FEC for the lossy links the mixed
/// halls are on. One stream at this rate replaces two to four of ~32-48 kbit/s.
pub const MIX_BITRATE: i32 = 24_000;
/// The loss rate the encoder protects against with in-band FEC.
const EXPECTED_LOSS_PERCENT: i32 = 10;
/// Packets (about 7 s of three microphones) the worker's input channel holds.
const INPUT_CAPACITY: usize = 1024;
const MAX_PACKET: usize = 1500;

/// One encoded 20 ms frame of one mix, with the RTP fields of its own stream (the
/// subscriber's slot rewriter maps them onto the slot's SSRC and numbering).
#[derive(Debug, Clone, PartialEq)]
pub struct MixFrame {
    pub key: MixKey,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: Bytes,
    /// RFC 6464 level of the mixed frame.
    pub level: u8,
}

struct Output {
    exclude: Vec<SourceId>,
    encoder: opus::Encoder,
    limiter: Limiter,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

/// The mixes of one group on one 20 ms timeline. Each source is decoded once; the sum
/// of all is made once per slot and a mix without X is that sum less X's frame.
pub struct LiveMixer {
    mixer: Mixer,
    outputs: BTreeMap<MixKey, Output>,
    packet: Vec<u8>,
    /// Frames libopus failed to encode (skipped; the stream's numbering goes on).
    pub encode_errors: u64,
}

impl LiveMixer {
    pub fn new(jitter: Duration) -> Self {
        LiveMixer {
            mixer: Mixer::with_jitter(jitter),
            outputs: BTreeMap::new(),
            packet: vec![0; MAX_PACKET],
            encode_errors: 0,
        }
    }

    /// The mixes to produce from now on. A mix kept keeps its encoder and numbering.
    pub fn set_plan(&mut self, specs: &[MixSpec]) -> Result<(), opus::Error> {
        self.outputs
            .retain(|k, _| specs.iter().any(|s| &s.key == k));
        for s in specs {
            let exclude = s.exclude.iter().map(|t| SourceId(t.0.clone())).collect();
            if let Some(o) = self.outputs.get_mut(&s.key) {
                o.exclude = exclude;
                continue;
            }
            let mut encoder =
                opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)?;
            encoder.set_bitrate(opus::Bitrate::Bits(MIX_BITRATE))?;
            encoder.set_inband_fec(true)?;
            encoder.set_packet_loss_perc(EXPECTED_LOSS_PERCENT)?;
            self.outputs.insert(
                s.key.clone(),
                Output {
                    exclude,
                    encoder,
                    limiter: Limiter::default(),
                    ssrc: rand::random(),
                    sequence: rand::random(),
                    timestamp: rand::random(),
                },
            );
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn mixes(&self) -> usize {
        self.outputs.len()
    }

    /// One Opus packet of `track`, arrived `at` after the worker started.
    pub fn push(
        &mut self,
        track: &TrackId,
        ssrc: u32,
        timestamp: u32,
        payload: Bytes,
        at: Duration,
    ) -> Result<(), opus::Error> {
        self.mixer
            .push(&SourceId(track.0.clone()), ssrc, timestamp, payload, at)
    }

    /// Mixes and encodes every slot whose jitter wait is over at `now`.
    pub fn advance(&mut self, now: Duration, out: &mut Vec<MixFrame>) {
        let (outputs, packet, errors) =
            (&mut self.outputs, &mut self.packet, &mut self.encode_errors);
        self.mixer.advance_each(now, |frames| {
            let mut all = [0i32; FRAME_SAMPLES];
            for (_, pcm) in frames {
                for (acc, v) in all.iter_mut().zip(pcm.iter()) {
                    *acc += i32::from(*v);
                }
            }
            for (key, o) in outputs.iter_mut() {
                let mut sum = all;
                for (_, pcm) in frames.iter().filter(|(id, _)| o.exclude.contains(id)) {
                    for (acc, v) in sum.iter_mut().zip(pcm.iter()) {
                        *acc -= i32::from(*v);
                    }
                }
                let pcm = o.limiter.limit(&sum);
                o.sequence = o.sequence.wrapping_add(1);
                o.timestamp = o.timestamp.wrapping_add(FRAME_SAMPLES as u32);
                match o.encoder.encode(&pcm, packet) {
                    Ok(n) => out.push(MixFrame {
                        key: key.clone(),
                        ssrc: o.ssrc,
                        sequence: o.sequence,
                        timestamp: o.timestamp,
                        payload: Bytes::copy_from_slice(&packet[..n]),
                        level: crate::mix::level_dbov(&pcm),
                    }),
                    Err(_) => *errors += 1,
                }
            }
        });
    }
}

/// What the media loop sends a worker.
pub enum MixInput {
    Rtp {
        track: TrackId,
        ssrc: u32,
        timestamp: u32,
        payload: Bytes,
        at: Instant,
    },
}

/// What a worker sends back: the frames of one or more slots of its group.
#[derive(Debug)]
pub struct MixOutput {
    pub group: RoomId,
    pub frames: Vec<MixFrame>,
}

/// The media loop's end of a worker. Dropping it ends the thread.
pub struct Worker {
    tx: std_mpsc::SyncSender<MixInput>,
    pub dropped: Arc<AtomicU64>,
}

impl Worker {
    /// Never waits: a full channel drops the input and counts it.
    pub fn feed(&self, input: MixInput) {
        if self.tx.try_send(input).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts the mixing thread of `group`: it mixes what `specs` say (read at each tick)
/// and sends its frames to `out`.
pub fn spawn(
    group: RoomId,
    specs: Arc<Mutex<Vec<MixSpec>>>,
    out: mpsc::UnboundedSender<MixOutput>,
) -> std::io::Result<Worker> {
    let (tx, rx) = std_mpsc::sync_channel(INPUT_CAPACITY);
    std::thread::Builder::new()
        .name("sfu-mix".to_owned())
        .spawn(move || run(group, rx, &specs, out))?;
    Ok(Worker {
        tx,
        dropped: Arc::new(AtomicU64::new(0)),
    })
}

/// The thin driver: the clock, the channels, a tick every 20 ms.
fn run(
    group: RoomId,
    rx: std_mpsc::Receiver<MixInput>,
    specs: &Mutex<Vec<MixSpec>>,
    out: mpsc::UnboundedSender<MixOutput>,
) {
    let start = Instant::now();
    let mut live = LiveMixer::new(LIVE_JITTER);
    let mut applied: Vec<MixSpec> = Vec::new();
    let mut next_tick = start + FRAME;
    let mut frames = Vec::new();
    loop {
        let now = Instant::now();
        if now >= next_tick {
            let wanted = specs.lock().map(|s| s.clone()).unwrap_or_default();
            if wanted != applied {
                match live.set_plan(&wanted) {
                    Ok(()) => applied = wanted,
                    Err(e) => tracing::warn!(%group, error = %e, "mixing: no encoder"),
                }
            }
            live.advance(now - start, &mut frames);
            if !frames.is_empty() {
                let batch = MixOutput {
                    group: group.clone(),
                    frames: std::mem::take(&mut frames),
                };
                if out.send(batch).is_err() {
                    return;
                }
            }
            // After a stall (a loaded machine), catch up in one go rather than tick
            // by tick: `advance` mixes every slot that is due.
            next_tick = (next_tick + FRAME).max(now);
            continue;
        }
        match rx.recv_timeout(next_tick - now) {
            Ok(MixInput::Rtp {
                track,
                ssrc,
                timestamp,
                payload,
                at,
            }) => {
                // Fails only if libopus cannot make a decoder: the packet is dropped.
                let _ = live.push(
                    &track,
                    ssrc,
                    timestamp,
                    payload,
                    at.saturating_duration_since(start),
                );
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
#[path = "mix_live_tests.rs"]
mod tests;
