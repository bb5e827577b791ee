//! Audio ahead of video on each subscriber's link: a pacer, pure and on the caller's
//! clock ([`Pacer`]), and the interceptor that runs it inside a subscribe connection
//! ([`PacerInterceptor`], at rtc's `Slot::Pacer`: above the TWCC numbering and the send
//! history, so both see the release instant, not the enqueue one).
//!
//! Video leaves at about the link's estimate × [`PACE_FACTOR`]: a keyframe, which a
//! publisher sends as one burst of tens of packets, waits in our queue rather than in
//! the thin link's, where it would hold up (or push out) the audio behind it. Audio is
//! never held: it is charged to the same budget (so the video after it waits), and
//! goes at once.
//!
//! Why hold and not drop: a dropped video packet breaks every picture up to the next
//! keyframe (each frame refers to the one before). So a video packet is held, for at
//! most [`MAX_HOLD`]; held longer, its stream does not fit the link any more, and
//! then everything of that stream before its next keyframe is worthless to the decoder
//! anyway: the stream's queued packets are dropped and its packets are skipped until a
//! keyframe start comes (one already queued is kept, with what follows it). The
//! interceptor reports the queue as congested, the published estimate is cut, and the
//! layer selection moves the subscription down, which asks for the keyframe of the
//! lower layer that ends the skip (the subscriber's own PLI asks too). A keyframe
//! queued behind a late backlog of its own stream supersedes it: the backlog is
//! dropped, so the new picture is not held up by frames the keyframe makes useless.
//!
//! The interceptor also publishes what the layer selection reads of the link (one
//! word, [`LinkWord`]): the held estimate (`layers::EstimateHold`), whether the
//! subscriber negotiated transport-cc at all, and whether the queue is congested.

use crate::layers::EstimateHold;
use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::marshal::MarshalSize;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Video is released at this multiple of the estimate. The layer selection keeps the
/// average under the estimate; the pacer only spreads the bursts (keyframes), and a
/// little above the estimate lets a burst drain before the next one comes, while the
/// link's own queue grows by at most a fifth of the burst.
pub const PACE_FACTOR: f64 = 1.25;
/// What may leave back to back after a quiet spell: 20 ms of the rate (at least two
/// full packets), so a small frame is not spread over its own frame interval.
const BURST: Duration = Duration::from_millis(20);
const MIN_BURST_BITS: f64 = 2.0 * 1_200.0 * 8.0;
/// Audio may put the budget this far in debt (in time at the rate): video waits for it,
/// and a long run of audio cannot starve the video for longer.
const MAX_DEBT: Duration = Duration::from_millis(250);
/// The longest a video packet is held. A keyframe of the layer the estimate allows
/// takes 100-350 ms at the paced rate (q at 300 kbit/s, f at 2 Mbit/s); longer than
/// this and the stream does not fit the link.
pub const MAX_HOLD: Duration = Duration::from_millis(500);
/// Held this long (the head of the queue), or skipped within the last second: the
/// video does not fit, the estimate the selection sees is cut.
pub const CONGESTED_AFTER: Duration = Duration::from_millis(300);
const SKIP_MEMORY: Duration = Duration::from_secs(1);
/// No slower than this, whatever the estimate says (rtc's GCC floor is 50 kbit/s).
const MIN_RATE_BPS: f64 = 50_000.0;

struct Held<T> {
    item: T,
    ssrc: u32,
    bits: f64,
    keyframe: bool,
    since: Instant,
}

/// A leaky bucket with a bounded, keyframe-aware video queue. `T` is the packet.
pub struct Pacer<T> {
    rate: f64,
    budget: f64,
    last: Option<Instant>,
    queue: VecDeque<Held<T>>,
    /// Streams whose packets are dropped until their next keyframe start.
    skipping: Vec<u32>,
    dropped: u64,
    last_drop: Option<Instant>,
}

impl<T> Pacer<T> {
    pub fn new(rate_bps: f64) -> Self {
        Self {
            rate: rate_bps.max(MIN_RATE_BPS),
            budget: 0.0,
            last: None,
            queue: VecDeque::new(),
            skipping: Vec::new(),
            dropped: 0,
            last_drop: None,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Video packets dropped so far (held too long, or skipped to a keyframe).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Some stream waits for a keyframe (its late packets were dropped).
    pub fn skipping(&self) -> bool {
        !self.skipping.is_empty()
    }

    pub fn set_rate(&mut self, now: Instant, rate_bps: f64) {
        self.refill(now);
        self.rate = rate_bps.max(MIN_RATE_BPS);
    }

    fn burst(&self) -> f64 {
        (self.rate * BURST.as_secs_f64()).max(MIN_BURST_BITS)
    }

    fn refill(&mut self, now: Instant) {
        let dt = self
            .last
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.last = Some(self.last.map_or(now, |t| t.max(now)));
        self.budget = (self.budget + self.rate * dt).min(self.burst());
    }

    /// An audio packet leaves now: charged, never held.
    pub fn charge(&mut self, now: Instant, bytes: usize) {
        self.refill(now);
        let floor = -self.rate * MAX_DEBT.as_secs_f64();
        self.budget = (self.budget - bytes as f64 * 8.0).max(floor);
    }

    /// A video packet: returned at once if nothing is waiting and the budget allows,
    /// else held (None); dropped (None) while its stream skips to a keyframe.
    pub fn push(
        &mut self,
        now: Instant,
        item: T,
        ssrc: u32,
        bytes: usize,
        keyframe: bool,
    ) -> Option<T> {
        self.refill(now);
        if let Some(i) = self.skipping.iter().position(|s| *s == ssrc) {
            if !keyframe {
                self.drop_one(now);
                return None;
            }
            self.skipping.swap_remove(i);
        }
        let bits = bytes as f64 * 8.0;
        if self.queue.is_empty() && self.budget >= 0.0 {
            self.budget -= bits;
            return Some(item);
        }
        if keyframe && self.congested(now) {
            // The new picture makes the late backlog of its stream useless.
            self.drop_stream(now, ssrc, self.queue.len());
        }
        self.queue.push_back(Held {
            item,
            ssrc,
            bits,
            keyframe,
            since: now,
        });
        self.enforce(now);
        None
    }

    /// The next packet that may leave now, if any.
    pub fn poll(&mut self, now: Instant) -> Option<T> {
        self.refill(now);
        self.enforce(now);
        if self.budget < 0.0 {
            return None;
        }
        let head = self.queue.pop_front()?;
        self.budget -= head.bits;
        Some(head.item)
    }

    /// When [`Self::poll`] next has something to do.
    pub fn next_release(&self) -> Option<Instant> {
        let head = self.queue.front()?;
        let last = self.last.unwrap_or(head.since);
        let release = if self.budget >= 0.0 {
            last
        } else {
            last + Duration::from_secs_f64(-self.budget / self.rate)
        };
        // The hold deadline, unless already passed when the queue was last looked at
        // (a late keyframe at the head stays and waits for the budget).
        let deadline = head.since + MAX_HOLD;
        Some(if deadline > last {
            release.min(deadline)
        } else {
            release
        })
    }

    /// The video does not fit: the head has waited [`CONGESTED_AFTER`], or packets were
    /// dropped within the last second.
    pub fn congested(&self, now: Instant) -> bool {
        let late = self
            .queue
            .front()
            .is_some_and(|h| now.saturating_duration_since(h.since) >= CONGESTED_AFTER);
        let dropped = self
            .last_drop
            .is_some_and(|t| now.saturating_duration_since(t) < SKIP_MEMORY);
        late || dropped
    }

    fn drop_one(&mut self, now: Instant) {
        self.dropped += 1;
        self.last_drop = Some(now);
    }

    /// Drops the packets of `ssrc` among the first `before` queued.
    fn drop_stream(&mut self, now: Instant, ssrc: u32, before: usize) {
        let mut i = 0;
        let mut seen = 0;
        while i < self.queue.len() && seen < before {
            seen += 1;
            if self.queue[i].ssrc == ssrc {
                self.queue.remove(i);
                self.drop_one(now);
            } else {
                i += 1;
            }
        }
    }

    /// The head held longer than [`MAX_HOLD`]: its stream does not fit. Everything of it
    /// before its last queued keyframe start goes; with none queued, all of it goes and
    /// the stream skips to its next keyframe.
    fn enforce(&mut self, now: Instant) {
        while let Some(head) = self.queue.front() {
            if now.saturating_duration_since(head.since) <= MAX_HOLD {
                return;
            }
            let ssrc = head.ssrc;
            let key = self
                .queue
                .iter()
                .rposition(|h| h.ssrc == ssrc && h.keyframe);
            match key {
                // The keyframe itself is the head: it goes next, late or not.
                Some(0) => return,
                Some(k) => self.drop_stream(now, ssrc, k),
                None => {
                    self.drop_stream(now, ssrc, self.queue.len());
                    self.skipping.push(ssrc);
                }
            }
        }
    }
}

/// What the layer selection reads of a subscriber's link, packed into the
/// connection's one `AtomicU64` (`Conn::estimate`): written by the pacer interceptor,
/// read by `simulcast.rs`. 0 is "nothing known" (a connection not yet answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkWord {
    /// The held estimate in bit/s (`layers::EstimateHold`).
    pub estimate: u64,
    /// The subscriber negotiated transport-cc: the estimate means something.
    pub twcc: bool,
    /// The pacer's queue holds video too long ([`Pacer::congested`]).
    pub congested: bool,
    /// A video stream waits for a keyframe ([`Pacer::skipping`]): ask for one.
    pub skipping: bool,
}

const ESTIMATE_BITS: u64 = (1 << 40) - 1;
const TWCC_BIT: u64 = 1 << 40;
const CONGESTED_BIT: u64 = 1 << 41;
const SKIPPING_BIT: u64 = 1 << 42;

impl LinkWord {
    pub fn pack(self) -> u64 {
        self.estimate.min(ESTIMATE_BITS)
            | if self.twcc { TWCC_BIT } else { 0 }
            | if self.congested { CONGESTED_BIT } else { 0 }
            | if self.skipping { SKIPPING_BIT } else { 0 }
    }

    pub fn unpack(word: u64) -> Self {
        Self {
            estimate: word & ESTIMATE_BITS,
            twcc: word & TWCC_BIT != 0,
            congested: word & CONGESTED_BIT != 0,
            skipping: word & SKIPPING_BIT != 0,
        }
    }

    pub fn load(word: &AtomicU64) -> Self {
        Self::unpack(word.load(Ordering::Relaxed))
    }
}

/// The held estimate is worked out again at most this often (it is cheap, but the
/// interceptor sees every packet).
const UPDATE_EVERY: Duration = Duration::from_millis(20);

/// The pacer inside a subscribe connection. `raw` is GCC's target in bit/s (engine.rs
/// writes it on every feedback); `out` is where [`LinkWord`] is published.
pub struct PacerInterceptor {
    pacer: Pacer<TaggedPacket>,
    hold: EstimateHold,
    raw: Arc<AtomicU64>,
    out: Arc<AtomicU64>,
    /// Local streams by SSRC: true for audio.
    audio: HashMap<u32, bool>,
    /// Video payload types with their MIME type, to recognise keyframe starts.
    mimes: HashMap<u8, String>,
    twcc: bool,
    last_update: Option<Instant>,
    last_raw: u64,
    published: u64,
    write: VecDeque<TaggedPacket>,
    read: VecDeque<TaggedPacket>,
}

impl PacerInterceptor {
    pub fn new(raw: Arc<AtomicU64>, out: Arc<AtomicU64>) -> Self {
        let initial = raw.load(Ordering::Relaxed) as f64;
        Self {
            pacer: Pacer::new(initial * PACE_FACTOR),
            hold: EstimateHold::default(),
            raw,
            out,
            audio: HashMap::new(),
            mimes: HashMap::new(),
            twcc: false,
            last_update: None,
            last_raw: 0,
            published: 0,
            write: VecDeque::new(),
            read: VecDeque::new(),
        }
    }

    fn update(&mut self, now: Instant) {
        let raw = self.raw.load(Ordering::Relaxed);
        let due = self
            .last_update
            .is_none_or(|t| now.saturating_duration_since(t) >= UPDATE_EVERY);
        if !due && raw == self.last_raw {
            return;
        }
        self.last_update = Some(now);
        self.last_raw = raw;
        self.pacer.set_rate(now, raw as f64 * PACE_FACTOR);
        let congested = self.pacer.congested(now);
        let estimate = self.hold.update(now, raw, congested);
        self.publish(LinkWord {
            estimate,
            twcc: self.twcc,
            congested,
            skipping: self.pacer.skipping(),
        });
    }

    fn publish(&mut self, word: LinkWord) {
        let word = word.pack();
        if word != self.published {
            self.published = word;
            self.out.store(word, Ordering::Relaxed);
        }
    }

    fn release(&mut self, now: Instant) {
        while let Some(mut p) = self.pacer.poll(now) {
            p.now = now;
            self.write.push_back(p);
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for PacerInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        // Feedback may have moved the estimate (written wire-ward of here, just now).
        if self.twcc {
            self.update(msg.now);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let Packet::Rtp(rtp) = &msg.message.packet else {
            self.write.push_back(msg);
            return Ok(());
        };
        if !self.twcc {
            // No feedback, no estimate: nothing to pace under.
            self.write.push_back(msg);
            return Ok(());
        }
        let now = msg.now;
        self.update(now);
        let ssrc = rtp.header.ssrc;
        let bytes = rtp.marshal_size();
        match self.audio.get(&ssrc) {
            Some(true) | None => {
                self.pacer.charge(now, bytes);
                self.write.push_back(msg);
            }
            Some(false) => {
                let keyframe = self
                    .mimes
                    .get(&rtp.header.payload_type)
                    .is_some_and(|m| crate::layers::is_keyframe_start(m, &rtp.payload));
                if let Some(msg) = self.pacer.push(now, msg, ssrc, bytes, keyframe) {
                    self.write.push_back(msg);
                }
            }
        }
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        if self.twcc {
            self.update(now);
            self.release(now);
        }
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        self.pacer.next_release()
    }
}

impl Interceptor for PacerInterceptor {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        let audio = info.mime_type.to_ascii_lowercase().starts_with("audio/");
        self.audio.insert(info.ssrc, audio);
        if !audio {
            self.mimes.insert(info.payload_type, info.mime_type.clone());
        }
        let twcc = info
            .rtp_header_extensions
            .iter()
            .any(|e| e.uri == rtc::sdp::extmap::TRANSPORT_CC_URI);
        if twcc && !self.twcc {
            self.twcc = true;
            // Known from now on, before any feedback: the starting estimate.
            let raw = self.raw.load(Ordering::Relaxed);
            self.publish(LinkWord {
                estimate: self.hold.current().unwrap_or(raw),
                twcc: true,
                congested: false,
                skipping: false,
            });
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.audio.remove(&info.ssrc);
    }

    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
#[path = "pacer_tests.rs"]
mod tests;
