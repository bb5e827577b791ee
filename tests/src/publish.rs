//! The publishing half of a test client: sendonly transceivers, the `publish_offer`,
//! and the real-time paced senders (Opus tone every 20 ms, optionally in talk spurts;
//! fake VP8 at `fps`, or three simulcast encodings in [`crate::simulcast`]).

use crate::client::{ClientOptions, Shared, TalkSpurts};
use crate::media::{ToneEncoder, Vp8Source};
use crate::rtc_setup::{new_track_with_rids, opus_codec, vp8_codec};
use anyhow::anyhow;
use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpTransceiver;

struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    transceiver: Arc<dyn RtpTransceiver>,
    /// One per encoding, in the order of the rids asked for.
    ssrcs: Vec<u32>,
}

pub struct Publisher {
    audio: Option<Outgoing>,
    video: Option<Outgoing>,
    stop: Arc<AtomicBool>,
    sent_audio: Arc<AtomicU64>,
    sent_video: Arc<AtomicU64>,
}

async fn add(
    pc: &Arc<dyn PeerConnection>,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    id: &str,
    rids: &[&str],
) -> anyhow::Result<Outgoing> {
    let (track, ssrcs) = new_track_with_rids(kind, codec, id, rids)?;
    let transceiver = pc
        .add_transceiver_from_track(
            track.clone() as Arc<dyn TrackLocal>,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: vec![],
            }),
        )
        .await?;
    Ok(Outgoing {
        track,
        transceiver,
        ssrcs,
    })
}

/// Adds the tracks, creates and applies the offer; returns the `publish_offer` message.
pub async fn prepare(
    pc: &Arc<dyn PeerConnection>,
    opts: &ClientOptions,
) -> anyhow::Result<(Publisher, Value)> {
    let audio = match opts.tone_hz {
        Some(_) => Some(add(pc, RtpCodecKind::Audio, opus_codec(), "microphone", &[""]).await?),
        None => None,
    };
    let video = match (opts.simulcast, opts.video_bps) {
        (Some(_), _) => Some(
            add(
                pc,
                RtpCodecKind::Video,
                vp8_codec(),
                "camera",
                &crate::simulcast::RIDS,
            )
            .await?,
        ),
        (None, Some(_)) => Some(add(pc, RtpCodecKind::Video, vp8_codec(), "camera", &[""]).await?),
        (None, None) => None,
    };
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer).await?;
    let sdp = pc
        .local_description()
        .await
        .ok_or_else(|| anyhow!("no local description"))?
        .sdp;
    let mut tracks = Vec::new();
    for (o, source) in [(&audio, "microphone"), (&video, "camera")] {
        if let Some(o) = o {
            let mid = o
                .transceiver
                .mid()
                .await?
                .ok_or_else(|| anyhow!("no mid for the {source} transceiver"))?;
            tracks.push(json!({"mid": mid, "source": source}));
        }
    }
    let msg = json!({"type": "publish_offer", "sdp": sdp, "tracks": tracks});
    Ok((
        Publisher {
            audio,
            video,
            stop: Arc::new(AtomicBool::new(false)),
            sent_audio: Arc::new(AtomicU64::new(0)),
            sent_video: Arc::new(AtomicU64::new(0)),
        },
        msg,
    ))
}

impl Publisher {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// RTP packets handed to the tracks so far: (audio frames, video frames).
    pub fn sent(&self) -> (u64, u64) {
        (
            self.sent_audio.load(Ordering::Relaxed),
            self.sent_video.load(Ordering::Relaxed),
        )
    }

    /// Waits for the publish connection to connect, then sends until stopped.
    pub fn start(
        &self,
        pc: Arc<dyn PeerConnection>,
        shared: Arc<Shared>,
        opts: ClientOptions,
    ) -> JoinHandle<()> {
        let audio = self.audio.as_ref().map(|o| {
            (
                o.track.clone(),
                o.transceiver.clone(),
                o.ssrcs.first().copied().unwrap_or_default(),
            )
        });
        let video = self
            .video
            .as_ref()
            .map(|o| (o.track.clone(), o.transceiver.clone(), o.ssrcs.clone()));
        let stop = self.stop.clone();
        let (sent_a, sent_v) = (self.sent_audio.clone(), self.sent_video.clone());
        tokio::spawn(async move {
            // Writing before the connection is up fails (the track is not bound yet).
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let connected = shared.pub_state.lock().ok().and_then(|s| *s)
                    == Some(RTCPeerConnectionState::Connected);
                if connected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = &pc;
            let mut tasks = Vec::new();
            if let (Some((track, tr, ssrc)), Some(freq)) = (audio, opts.tone_hz) {
                let pt = payload_type(&tr).await;
                tasks.push(tokio::spawn(send_audio(
                    track,
                    ssrc,
                    pt,
                    freq,
                    opts.talk_spurts,
                    stop.clone(),
                    sent_a,
                )));
            }
            if let (Some((track, tr, ssrcs)), Some(rates)) = (video.clone(), opts.simulcast) {
                let pt = payload_type(&tr).await;
                let mid = tr.mid().await.ok().flatten().unwrap_or_default();
                tasks.push(tokio::spawn(crate::simulcast::send(
                    crate::simulcast::Encodings {
                        track,
                        mid,
                        ssrcs,
                        pt,
                        rates,
                    },
                    opts.clone(),
                    shared.clone(),
                    stop.clone(),
                    sent_v.clone(),
                )));
            } else if let (Some((track, tr, ssrcs)), Some(bps)) = (video, opts.video_bps) {
                let ssrc = ssrcs.first().copied().unwrap_or_default();
                let pt = payload_type(&tr).await;
                let wanted = Arc::new(AtomicBool::new(true));
                tasks.push(tokio::spawn(watch_keyframe_requests(
                    track.clone(),
                    wanted.clone(),
                    shared.clone(),
                    stop.clone(),
                )));
                tasks.push(tokio::spawn(send_video(
                    track,
                    ssrc,
                    pt,
                    bps,
                    opts.fps,
                    opts.keyframe_every,
                    opts.stamp_send_time,
                    wanted,
                    stop.clone(),
                    sent_v,
                )));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

async fn payload_type(tr: &Arc<dyn RtpTransceiver>) -> u8 {
    let Ok(Some(sender)) = tr.sender().await else {
        return 0;
    };
    match sender.get_parameters().await {
        Ok(p) => p
            .rtp_parameters
            .codecs
            .first()
            .map(|c| c.payload_type)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Where in its talk/pause cycle a speaker is: a random phase, so many sites started
/// together do not talk in step.
struct Spurts {
    cycle: TalkSpurts,
    start: Instant,
}

impl Spurts {
    fn new(cycle: TalkSpurts) -> Self {
        let period = (cycle.talk + cycle.pause).as_millis().max(1) as u64;
        let phase = Duration::from_millis(rand::random::<u64>() % period);
        Spurts {
            cycle,
            start: Instant::now()
                .checked_sub(phase)
                .unwrap_or_else(Instant::now),
        }
    }

    fn talking(&self) -> bool {
        let period = (self.cycle.talk + self.cycle.pause).as_millis().max(1);
        self.start.elapsed().as_millis() % period < self.cycle.talk.as_millis()
    }
}

async fn send_audio(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: u8,
    freq: f32,
    spurts: Option<TalkSpurts>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let Ok(mut enc) = ToneEncoder::new(freq) else {
        return;
    };
    let loud = 0.3;
    enc.set_amplitude(loud);
    let spurts = spurts.map(Spurts::new);
    let mut with_level = true;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        if let Some(s) = &spurts {
            // A pause is sent as silence, not as no packets: a browser's microphone
            // keeps sending, and its level then says nobody speaks.
            enc.set_amplitude(if s.talking() { loud } else { 0.0 });
        }
        let level = enc.level_dbov();
        let Ok(frame) = enc.next_frame() else {
            return;
        };
        let sample = Sample {
            data: Bytes::copy_from_slice(frame),
            duration: Duration::from_millis(20),
            ..Sample::new(Instant::now())
        };
        let mut w = track.sample_writer(ssrc, pt);
        if with_level {
            w = w.with_audio_level(AudioLevelExtension { level, voice: true });
        }
        match w.write_sample(&sample).await {
            Ok(()) => {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            // Not negotiated: go on without the extension.
            Err(_) if with_level => with_level = false,
            Err(_) => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_video(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: u8,
    bps: u32,
    fps: u32,
    keyframe_every: Option<Duration>,
    stamp: bool,
    wanted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let fps = fps.max(1);
    let mut src = Vp8Source::new(bps, fps);
    let frame_time = Duration::from_secs(1) / fps;
    let mut tick = tokio::time::interval(frame_time);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_key = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let periodic = keyframe_every.is_some_and(|p| last_key.elapsed() >= p);
        let key = wanted.swap(false, Ordering::Relaxed) || periodic;
        if key {
            last_key = Instant::now();
        }
        let mut frame = src.next_frame(key);
        if stamp {
            crate::media::stamp_send_time(&mut frame);
        }
        let sample = Sample {
            data: Bytes::from(frame),
            duration: frame_time,
            ..Sample::new(Instant::now())
        };
        if track
            .sample_writer(ssrc, pt)
            .write_sample(&sample)
            .await
            .is_ok()
        {
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn watch_keyframe_requests(
    track: Arc<TrackLocalStaticSample>,
    wanted: Arc<AtomicBool>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match track.poll().await {
            Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                wanted.store(true, Ordering::Relaxed);
                shared.keyframe_requests.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
            // Not bound (yet, or any more).
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
