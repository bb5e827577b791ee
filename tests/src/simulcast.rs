//! Simulcast publishing for the test client: one camera track sent as three encodings
//! (rids `q`, `h`, `f`, lowest first), each with the MID and RID header extensions a
//! browser puts on every packet (the server tells the encodings apart by RID). Frames
//! carry their layer ([`crate::media::mark_layer`]) and, if asked, their send time.
//! Encodings the server's `layers` message pauses are not sent, and an encoding that
//! resumes starts with a keyframe, as a browser's encoder does.

use crate::client::{ClientOptions, Shared};
use crate::media::{Vp8Source, mark_layer, stamp_send_time};
use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::extension::HeaderExtension;
use rtc::shared::marshal::{Marshal, MarshalSize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

pub const RIDS: [&str; 3] = ["q", "h", "f"];
pub const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// A header extension carrying a string (MID, RID).
struct Text(String);

impl MarshalSize for Text {
    fn marshal_size(&self) -> usize {
        self.0.len()
    }
}

impl Marshal for Text {
    fn marshal_to(&self, buf: &mut [u8]) -> rtc::shared::error::Result<usize> {
        let n = self.0.len();
        let Some(dst) = buf.get_mut(..n) else {
            return Err(rtc::shared::error::Error::ErrBufferShort);
        };
        dst.copy_from_slice(self.0.as_bytes());
        Ok(n)
    }
}

/// The MID or RID header extension with `value`, as a browser puts it on packets.
pub fn text_ext(uri: &'static str, value: &str) -> HeaderExtension {
    HeaderExtension::Custom {
        uri: uri.into(),
        extension: Box::new(Text(value.to_owned())),
    }
}

/// The camera track and what is needed to send its encodings.
pub(crate) struct Encodings {
    pub track: Arc<TrackLocalStaticSample>,
    pub mid: String,
    /// One per rid of [`RIDS`], in that order.
    pub ssrcs: Vec<u32>,
    pub pt: u8,
    /// Bitrates of q, h, f in bit/s.
    pub rates: [u32; 3],
}

/// Sends the encodings at `opts.fps` until `stop`.
pub(crate) async fn send(
    enc: Encodings,
    opts: ClientOptions,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let fps = opts.fps.max(1);
    // Every encoding starts with a keyframe.
    let wanted: Arc<[AtomicBool; 3]> = Arc::new([const { AtomicBool::new(true) }; 3]);
    let watcher = tokio::spawn(watch_keyframe_requests(
        enc.track.clone(),
        enc.ssrcs.clone(),
        wanted.clone(),
        shared.clone(),
        stop.clone(),
    ));
    let mut sources: Vec<Vp8Source> = enc.rates.iter().map(|&r| Vp8Source::new(r, fps)).collect();
    let frame_time = Duration::from_secs(1) / fps;
    let mut tick = tokio::time::interval(frame_time);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_key = [Instant::now(); 3];
    let mut was_paused = [false; 3];
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let paused = shared.layers_paused.lock().map(|p| *p).unwrap_or_default();
        for (l, src) in sources.iter_mut().enumerate() {
            let Some(&ssrc) = enc.ssrcs.get(l) else {
                continue;
            };
            if paused[l] {
                was_paused[l] = true;
                continue;
            }
            let periodic = opts
                .keyframe_every
                .is_some_and(|p| last_key[l].elapsed() >= p);
            let resumed = std::mem::take(&mut was_paused[l]);
            let key = wanted[l].swap(false, Ordering::Relaxed) || periodic || resumed;
            if key {
                last_key[l] = Instant::now();
            }
            let mut frame = src.next_frame(key);
            mark_layer(&mut frame, l as u8);
            if opts.stamp_send_time {
                stamp_send_time(&mut frame);
            }
            let sample = Sample {
                data: Bytes::from(frame),
                duration: frame_time,
                ..Sample::new(Instant::now())
            };
            let written = enc
                .track
                .sample_writer(ssrc, enc.pt)
                .with_extension(text_ext(MID_URI, &enc.mid))
                .with_extension(text_ext(RID_URI, RIDS[l]))
                .write_sample(&sample)
                .await;
            if written.is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    watcher.abort();
}

/// PLI and FIR name the SSRC they want a keyframe on: that encoding sends one next.
async fn watch_keyframe_requests(
    track: Arc<TrackLocalStaticSample>,
    ssrcs: Vec<u32>,
    wanted: Arc<[AtomicBool; 3]>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    let want = |ssrc: u32| match ssrcs.iter().position(|s| *s == ssrc) {
        Some(l) => wanted[l].store(true, Ordering::Relaxed),
        // Not one of ours: a keyframe on every encoding does no harm.
        None => wanted.iter().for_each(|w| w.store(true, Ordering::Relaxed)),
    };
    while !stop.load(Ordering::Relaxed) {
        match track.poll().await {
            Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                for p in &packets {
                    let any = p.as_any();
                    if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                        want(pli.media_ssrc);
                    } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                        fir.fir.iter().for_each(|e| want(e.ssrc));
                    }
                }
                shared.keyframe_requests.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
            // Not bound (yet, or any more).
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
