//! The estimate of what a subscriber's link carries: rtc's GCC for the delay half, our
//! own loss half, over a window of what the subscriber's feedback itself says.
//!
//! rtc's send history reports a packet no feedback mentioned (its feedback was lost on
//! the way back) as lost, and its GCC judges that per feedback batch. On a thin link
//! losing 5 % at random each way the estimate toward the hall read 10–25 % loss, fell to
//! the 50 kbit/s floor within seconds and stayed there: about 1 fps of video (measured
//! with the thin-link browser test). Here the loss is counted from the transport-cc
//! feedback as it arrives ([`ReportedLoss`]: what it reports received out of what it
//! covers), over the last two seconds and at least 100 packets, with GCC's thresholds: below
//! 2 % the loss half climbs, 2–10 % it holds, above 10 % it falls under what the
//! subscriber acknowledges receiving.

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the subscribe side's estimate starts: a hall on a thin link must not be sent
/// more than it carries before the first feedback says so. 300 kbit/s is the main
/// stage's lowest layer and the audio; GCC raises it from there (8 % a second while
/// the link shows no queue), and the layers follow once it has held (layers.rs,
/// `EstimateHold`). It was 2.5 Mbit/s: a new hall got 720p, and a 256 kbit/s link
/// queued seconds of it ahead of the audio.
pub const GCC_INITIAL_BPS: f64 = 300_000.0;
/// Low enough that a collapsing link can fall under the audio-only threshold.
pub(crate) const GCC_MIN_BPS: f64 = 50_000.0;
pub(crate) const GCC_MAX_BPS: f64 = 20_000_000.0;

/// Below this share lost the loss half climbs; above [`LOSS_HIGH`] it falls; between,
/// it creeps up (a few per cent is a radio link, not congestion). GCC holds there, but
/// then one cut (a keyframe burst at the start, a spell of bad luck) is for good on a
/// link that always loses a few per cent: in CI the stage of a hall losing 5 % stayed
/// at 1.5 fps after one. Creeping, an estimate that overfills the link meets a queue
/// (the delay half) or over 10 % loss (a cut) again: additive increase, multiplicative
/// decrease.
const LOSS_LOW: f64 = 0.02;
const LOSS_HIGH: f64 = 0.10;
/// The loss half climbs at most this often, so each step is seen before the next.
const LOSS_INTERVAL: Duration = Duration::from_millis(200);
/// Its climb per change on a clean link: faster than the delay half's 8 % a second,
/// so after a lossy spell the delay half leads again within seconds.
const LOSS_CLIMB: f64 = 1.05;
/// The creep per second while the loss is between the thresholds.
const LOSS_CREEP: f64 = 1.03;
const CREEP_INTERVAL: Duration = Duration::from_secs(1);
/// A share of lost packets means something only over this many packets, and over a
/// window this long (fewer: the loss half holds, for an unknown is not a clean link);
/// the loss half falls at most once per window. A thin link carries
/// 50–100 packets a second: at 5 % random loss one second's figure reads above 10 %
/// often enough (measured 10–20 % every few seconds) to cut the estimate again and
/// again, while it climbs only below 2 %, which such a link never shows.
const LOSS_MIN_PACKETS: u64 = 100;
/// Heavy loss is clear sooner: over this share of at least [`HEAVY_MIN_PACKETS`] the loss
/// half falls before the window fills. A new hall on a 64 kbit/s link gets the start
/// estimate's video for its first seconds, and lost half of it, its WebSocket with it
/// (measured: 47 %, cut only after two seconds); 5 % random loss never reads this high
/// over 30 packets.
const HEAVY_LOSS: f64 = 0.25;
const HEAVY_MIN_PACKETS: u64 = 30;
const WINDOW: Duration = Duration::from_secs(2);
const LOG_EVERY: Duration = Duration::from_secs(2);

/// GCC on what we send a subscriber (from its transport-cc feedback), publishing its
/// target to the pacer (pacer.rs), which paces under it and publishes what the layer
/// selection reads: the interceptor chain owns the estimator, so the number is pushed
/// out rather than read (the pattern of rtc's bandwidth-estimation example).
pub(crate) struct SharedEstimate {
    delay: Gcc,
    loss: LossHalf,
    acked: AckedRate,
    reported: Arc<ReportedLoss>,
    /// `reported`'s counts when last read.
    seen: (u64, u64),
    target: f64,
    out: Arc<AtomicU64>,
    /// When the halves were last logged (debug level, every few seconds).
    logged: Option<Instant>,
}

impl SharedEstimate {
    pub(crate) fn new(out: Arc<AtomicU64>, reported: Arc<ReportedLoss>) -> Self {
        out.store(GCC_INITIAL_BPS as u64, Ordering::Relaxed);
        Self {
            delay: Gcc::new(GCC_INITIAL_BPS, GCC_MIN_BPS, GCC_MAX_BPS),
            loss: LossHalf::new(GCC_INITIAL_BPS),
            acked: AckedRate::default(),
            reported,
            seen: (0, 0),
            target: GCC_INITIAL_BPS,
            out,
            logged: None,
        }
    }
}

impl BandwidthEstimator for SharedEstimate {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        // rtc's own target also carries its per-batch loss half; only the delay half's
        // is used.
        self.delay.on_reports(now, reports);
        let counts = self.reported.counts();
        let (covered, received) = (counts.0 - self.seen.0, counts.1 - self.seen.1);
        self.seen = counts;
        self.acked.add(now, reports, covered, received);
        let loss = self
            .loss
            .update(now, self.acked.loss_or_heavy(), self.acked.rate(now));
        self.target = self
            .delay
            .delay_based_bitrate()
            .min(loss)
            .clamp(GCC_MIN_BPS, GCC_MAX_BPS);
        self.out.store(self.target as u64, Ordering::Relaxed);
        if self
            .logged
            .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY)
        {
            self.logged = Some(now);
            tracing::debug!(
                target_kbps = self.target / 1e3,
                delay_kbps = self.delay.delay_based_bitrate() / 1e3,
                loss_kbps = self.loss.target / 1e3,
                loss_pct = self.acked.loss().map(|l| l * 100.0),
                acked_kbps = self.acked.rate(now).unwrap_or_default() / 1e3,
                "estimate"
            );
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.delay.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.delay.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        // Non-exhaustive: filled in, not built.
        let mut stats = self.delay.stats();
        stats.loss_based_bitrate = Some(self.loss.target);
        stats.packet_loss = self.acked.loss();
        stats
    }
}

/// The loss-based half (draft-ietf-rmcat-gcc-02 §5.5) over a windowed loss figure.
struct LossHalf {
    target: f64,
    last_climb: Option<Instant>,
    last_cut: Option<Instant>,
}

impl LossHalf {
    fn new(initial: f64) -> Self {
        Self {
            target: initial,
            last_climb: None,
            last_cut: None,
        }
    }

    /// `loss` over the window (None until it holds enough packets: then it holds);
    /// `acked_bps`, what arrived over it.
    fn update(&mut self, now: Instant, loss: Option<f64>, acked_bps: Option<f64>) -> f64 {
        let Some(loss) = loss else {
            return self.target;
        };
        let since = |t: Option<Instant>, d| t.is_none_or(|t| now.saturating_duration_since(t) >= d);
        if loss < LOSS_LOW && since(self.last_climb, LOSS_INTERVAL) {
            self.target = (self.target * LOSS_CLIMB).min(GCC_MAX_BPS);
            self.last_climb = Some(now);
        } else if (LOSS_LOW..=LOSS_HIGH).contains(&loss)
            && since(self.last_climb, CREEP_INTERVAL)
            && since(self.last_cut, WINDOW)
        {
            self.target = (self.target * LOSS_CREEP).min(GCC_MAX_BPS);
            self.last_climb = Some(now);
        } else if loss > LOSS_HIGH && since(self.last_cut, WINDOW) {
            // Under what was sent (the estimate may have run far ahead of it), a little
            // less the worse the loss; a link that is overfilled shows a queue first,
            // which the delay half answers.
            let sent = acked_bps.map_or(self.target, |a| a / (1.0 - loss));
            self.target = (self.target.min(sent) * (1.0 - 0.5 * loss)).max(GCC_MIN_BPS);
            self.last_cut = Some(now);
        }
        self.target
    }
}

/// What the subscriber's transport-cc feedback covered and reported received, counted
/// as each feedback arrives (engine.rs, `FeedbackToApp`), shared with the estimate.
#[derive(Default)]
pub(crate) struct ReportedLoss {
    covered: AtomicU64,
    received: AtomicU64,
}

impl ReportedLoss {
    pub(crate) fn count(&self, feedback: &TransportLayerCc) {
        // Every packet reported received carries an arrival delta.
        let covered = u64::from(feedback.packet_status_count);
        let received = (feedback.recv_deltas.len() as u64).min(covered);
        self.covered.fetch_add(covered, Ordering::Relaxed);
        self.received.fetch_add(received, Ordering::Relaxed);
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.covered.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// What the subscriber acknowledged receiving over the window, and the share of
/// the packets its feedback covered that it did not receive.
#[derive(Default)]
struct AckedRate {
    /// (when, bytes arrived, packets covered, packets received) per feedback batch.
    batches: VecDeque<(Instant, usize, u64, u64)>,
    bytes: usize,
    covered: u64,
    received: u64,
}

impl AckedRate {
    fn add(&mut self, now: Instant, reports: &[PacketReport], covered: u64, received: u64) {
        let bytes: usize = reports.iter().filter(|r| r.arrived).map(|r| r.size).sum();
        let received = received.min(covered);
        self.batches.push_back((now, bytes, covered, received));
        self.bytes += bytes;
        self.covered += covered;
        self.received += received;
        while let Some(&(t, b, c, r)) = self.batches.front() {
            if now.saturating_duration_since(t) <= WINDOW {
                break;
            }
            self.batches.pop_front();
            self.bytes -= b;
            self.covered -= c;
            self.received -= r;
        }
    }

    /// The share of packets lost over the window, once it holds enough of them.
    fn loss(&self) -> Option<f64> {
        (self.covered >= LOSS_MIN_PACKETS).then(|| self.share_lost())
    }

    /// [`Self::loss`], or before the window holds enough packets a heavy loss already
    /// clear over fewer.
    fn loss_or_heavy(&self) -> Option<f64> {
        self.loss().or_else(|| {
            (self.covered >= HEAVY_MIN_PACKETS)
                .then(|| self.share_lost())
                .filter(|&l| l > HEAVY_LOSS)
        })
    }

    fn share_lost(&self) -> f64 {
        (self.covered - self.received) as f64 / self.covered as f64
    }

    /// Bit/s over the window, once it spans a quarter second (a heavy loss is cut
    /// under what was sent before the window fills).
    fn rate(&self, now: Instant) -> Option<f64> {
        let (first, ..) = *self.batches.front()?;
        let span = now.saturating_duration_since(first).as_secs_f64();
        (span >= 0.25).then(|| self.bytes as f64 * 8.0 / span)
    }
}

#[cfg(test)]
#[path = "estimate_tests.rs"]
mod tests;
