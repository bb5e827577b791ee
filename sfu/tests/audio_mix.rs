//! Mixed audio for an audio-only hall, over real WebRTC: three sites publish tones of
//! their own (440, 660, 990 Hz) and a camera; a hall that says `view off` for every
//! camera receives ONE audio stream, the server's mix, in which every tone is heard;
//! a site that is itself heard and goes audio-only hears the others but not itself
//! (mix-minus). When the hall shows a camera again, its audio comes apart again.
//! An ignored test measures what the mixing costs the server (`--ignored --nocapture`).

mod common;

use bridge_e2e::media::{ToneEncoder, goertzel_power};
use bridge_e2e::rtc_setup::{OPUS_PT, VP8_PT, build_pc, mid_of, new_track, opus_codec, vp8_codec};
use bridge_sfu::*;
use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription,
};

const ROOM: &str = "hall-mix";
const WAIT: Duration = Duration::from_secs(30);
/// Bytes a packet costs on the wire besides its payload: RTP header 12, audio-level
/// extension 8, SRTP tag 10 (AES-CM-HMAC-SHA1-80; GCM's is 16), UDP 8, IPv4 20.
const WIRE_OVERHEAD: u64 = 58;

/// What arrived on one audio m-line since the last reset.
#[derive(Default)]
struct MidAudio {
    packets: u64,
    payload_bytes: u64,
    pcm: Vec<f32>,
    decoder: Option<opus::Decoder>,
}

#[derive(Default)]
struct Shared {
    pub_state: Mutex<Option<RTCPeerConnectionState>>,
    offers: Mutex<Vec<Vec<RemoteTrack>>>,
    /// The latest `AudioMix` event: (on, mid).
    mix: Mutex<Option<(bool, Option<String>)>>,
    /// mid -> participant, from the latest offer or `Slots` event.
    mids: Mutex<HashMap<String, String>>,
    audio: Mutex<HashMap<String, MidAudio>>,
    decode: AtomicBool,
    sub_pc: OnceLock<Weak<dyn PeerConnection>>,
}

struct Handler {
    publish: bool,
    candidates: mpsc::UnboundedSender<IceCandidate>,
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_m_line_index: init.sdp_mline_index,
            });
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if self.publish {
            *self.shared.pub_state.lock().unwrap() = Some(state);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            if track.kind().await != RtpCodecKind::Audio {
                while track.poll().await.is_some() {}
                return;
            }
            let Some(pc) = shared.sub_pc.get() else {
                return;
            };
            let Some(mid) = mid_of(pc, &track).await else {
                return;
            };
            let mut buf = vec![0i16; 5760];
            while let Some(ev) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(pkt) = ev else {
                    continue;
                };
                let mut audio = shared.audio.lock().unwrap();
                let a = audio.entry(mid.clone()).or_default();
                a.packets += 1;
                a.payload_bytes += pkt.payload.len() as u64;
                if !shared.decode.load(Ordering::Relaxed) {
                    continue;
                }
                let dec = a.decoder.get_or_insert_with(|| {
                    opus::Decoder::new(48_000, opus::Channels::Mono).unwrap()
                });
                if let Ok(n) = dec.decode(&pkt.payload, &mut buf, false) {
                    a.pcm.extend(buf[..n].iter().map(|&s| s as f32 / 32768.0));
                    // Keep the last 3 s.
                    if a.pcm.len() > 2 * 144_000 {
                        a.pcm.drain(..a.pcm.len() - 144_000);
                    }
                }
            }
        });
    }
}

struct Peer {
    id: ParticipantId,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    pcs: Vec<Arc<dyn PeerConnection>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn forward_candidates(
    sfu: SfuHandle,
    id: ParticipantId,
    kind: PcKind,
    mut rx: mpsc::UnboundedReceiver<IceCandidate>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            let _ = sfu.remote_candidate(&id, kind, c).await;
        }
    })
}

impl Peer {
    /// Joins; with `tone`, publishes it (with its audio level) and a small camera.
    async fn join(
        sfu: &SfuHandle,
        id: &str,
        tone: Option<f32>,
        default_view: View,
        decode: bool,
    ) -> Peer {
        let id = ParticipantId::from(id);
        let shared = Arc::new(Shared::default());
        shared.decode.store(decode, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        sfu.join_viewing(RoomId::from(ROOM), id.clone(), ev_tx, default_view)
            .await
            .unwrap();
        let (c_tx, c_rx) = mpsc::unbounded_channel();
        let sub_pc = build_pc(
            Arc::new(Handler {
                publish: false,
                candidates: c_tx,
                shared: shared.clone(),
            }),
            false,
        )
        .await
        .unwrap();
        let _ = shared.sub_pc.set(Arc::downgrade(&sub_pc));
        tasks.push(forward_candidates(
            sfu.clone(),
            id.clone(),
            PcKind::Subscribe,
            c_rx,
        ));
        {
            let (sfu, id, sub_pc, shared) =
                (sfu.clone(), id.clone(), sub_pc.clone(), shared.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = ev_rx.recv().await {
                    match ev {
                        SfuEvent::AudioMix { on, mid } => {
                            *shared.mix.lock().unwrap() = Some((on, mid));
                        }
                        SfuEvent::Slots { tracks } => {
                            *shared.mids.lock().unwrap() = mid_map(&tracks);
                        }
                        SfuEvent::SubscribeOffer { sdp, tracks } => {
                            shared.offers.lock().unwrap().push(tracks.clone());
                            let res = async {
                                sub_pc
                                    .set_remote_description(RTCSessionDescription::offer(sdp)?)
                                    .await?;
                                let answer = sub_pc.create_answer(None).await?;
                                sub_pc.set_local_description(answer).await?;
                                Ok::<_, webrtc::error::Error>(sub_pc.local_description().await)
                            }
                            .await;
                            if let Ok(Some(answer)) = res {
                                *shared.mids.lock().unwrap() = mid_map(&tracks);
                                let _ = sfu.subscribe_answer(&id, answer.sdp).await;
                            }
                        }
                        _ => {}
                    }
                }
            }));
        }
        let mut pcs = vec![sub_pc];
        if let Some(freq) = tone {
            pcs.push(publish(sfu, &id, &shared, &stop, &mut tasks, freq).await);
        }
        Peer {
            id,
            shared,
            stop,
            pcs,
            tasks,
        }
    }

    fn mix(&self) -> Option<(bool, Option<String>)> {
        self.shared.mix.lock().unwrap().clone()
    }

    fn mixed_mid(&self) -> Option<String> {
        self.mix().filter(|(on, _)| *on).and_then(|(_, mid)| mid)
    }

    fn reset(&self) {
        self.shared.audio.lock().unwrap().clear();
    }

    /// (mid, packets, payload bytes) of every audio m-line that got packets.
    fn streams(&self) -> Vec<(String, u64, u64)> {
        let mut v: Vec<_> = self
            .shared
            .audio
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| a.packets > 0)
            .map(|(m, a)| (m.clone(), a.packets, a.payload_bytes))
            .collect();
        v.sort();
        v
    }

    /// Goertzel power of `freq` in the last 2 s decoded on `mid`.
    fn power(&self, mid: &str, freq: f32) -> f32 {
        let audio = self.shared.audio.lock().unwrap();
        let Some(a) = audio.get(mid) else { return 0.0 };
        let tail = &a.pcm[a.pcm.len().saturating_sub(96_000)..];
        goertzel_power(tail, freq)
    }

    fn cameras_seen(&self) -> Vec<(ParticipantId, TrackId)> {
        let offers = self.shared.offers.lock().unwrap();
        let mut v: Vec<_> = offers
            .iter()
            .flatten()
            .filter(|t| t.source == TrackSource::Camera)
            .map(|t| (t.participant_id.clone(), t.track_id.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    async fn close(self) {
        self.stop.store(true, Ordering::Relaxed);
        for pc in &self.pcs {
            let _ = pc.close().await;
        }
        for t in self.tasks {
            t.abort();
        }
    }
}

fn mid_map(tracks: &[RemoteTrack]) -> HashMap<String, String> {
    tracks
        .iter()
        .map(|t| (t.mid.clone(), t.participant_id.0.clone()))
        .collect()
}

async fn publish(
    sfu: &SfuHandle,
    id: &ParticipantId,
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    freq: f32,
) -> Arc<dyn PeerConnection> {
    let (c_tx, c_rx) = mpsc::unbounded_channel();
    let pc = build_pc(
        Arc::new(Handler {
            publish: true,
            candidates: c_tx,
            shared: shared.clone(),
        }),
        false,
    )
    .await
    .unwrap();
    let (audio, audio_ssrc) = new_track(RtpCodecKind::Audio, opus_codec(), "mic").unwrap();
    let (video, video_ssrc) = new_track(RtpCodecKind::Video, vp8_codec(), "cam").unwrap();
    let mut specs = Vec::new();
    for (track, source) in [
        (audio.clone(), TrackSource::Microphone),
        (video.clone(), TrackSource::Camera),
    ] {
        let tr = pc
            .add_transceiver_from_track(
                track as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .await
            .unwrap();
        specs.push((tr, source));
    }
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    let mut tracks = Vec::new();
    for (tr, source) in &specs {
        let mid = tr.mid().await.unwrap().unwrap();
        tracks.push(TrackSpec {
            mid,
            source: *source,
        });
    }
    let answer = sfu.publish_offer(id, sdp, tracks).await.unwrap();
    pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap())
        .await
        .unwrap();
    tasks.push(forward_candidates(
        sfu.clone(),
        id.clone(),
        PcKind::Publish,
        c_rx,
    ));
    let (shared, stop) = (shared.clone(), stop.clone());
    tasks.push(tokio::spawn(async move {
        while *shared.pub_state.lock().unwrap() != Some(RTCPeerConnectionState::Connected) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut tone = ToneEncoder::new(freq).unwrap();
        let level = tone.level_dbov();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let Ok(frame) = tone.next_frame() else { return };
            let sample = Sample {
                data: Bytes::copy_from_slice(frame),
                duration: Duration::from_millis(20),
                ..Sample::new(Instant::now())
            };
            let ext = AudioLevelExtension { level, voice: true };
            let _ = audio
                .sample_writer(audio_ssrc, OPUS_PT)
                .with_audio_level(ext)
                .write_sample(&sample)
                .await;
            // A small camera at 10 fps (a keyframe every 2 s): something to say
            // `view off` for.
            if n.is_multiple_of(5) {
                let mut data = vec![0u8; 300];
                data[0] = if n.is_multiple_of(100) { 0x10 } else { 0x11 };
                let sample = Sample {
                    data: Bytes::from(data),
                    duration: Duration::from_millis(100),
                    ..Sample::new(Instant::now())
                };
                let _ = video
                    .sample_writer(video_ssrc, VP8_PT)
                    .write_sample(&sample)
                    .await;
            }
            n += 1;
        }
    }));
    pc
}

/// Every camera of the room but `who`'s own, as the other peers' offers name them.
async fn cameras_for(who: &Peer, seers: &[&Peer], owners: usize) -> Vec<TrackId> {
    let mut all = Vec::new();
    assert!(
        common::wait_until(WAIT, || {
            all = seers.iter().flat_map(|p| p.cameras_seen()).collect();
            all.sort();
            all.dedup();
            all.len() >= owners
        })
        .await,
        "cameras known: {all:?}"
    );
    all.into_iter()
        .filter(|(owner, _)| *owner != who.id)
        .map(|(_, t)| t)
        .collect()
}

/// Says `view off` for every camera: the page's audio-only mode.
async fn go_audio_only(sfu: &SfuHandle, who: &Peer, cameras: &[TrackId]) {
    for cam in cameras {
        sfu.set_view(&who.id, cam, View::Off).await.unwrap();
    }
}

/// Waits for the mix to be on and to flow, then measures `secs` of what arrives.
async fn measure(who: &Peer, secs: u64) -> Vec<(String, u64, u64)> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    who.reset();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    who.streams()
}

fn kbps(bytes: u64, packets: u64, secs: u64) -> (f64, f64) {
    let payload = bytes as f64 * 8.0 / secs as f64 / 1000.0;
    let wire = (bytes + packets * WIRE_OVERHEAD) as f64 * 8.0 / secs as f64 / 1000.0;
    (payload, wire)
}

const TONES: [(&str, f32); 3] = [("a", 440.0), ("b", 660.0), ("c", 990.0)];
/// A tone heard in a stream: its Goertzel power (a full-scale sine ~0.25; the test
/// tones are 0.3 of full scale, ~0.02 alone) is above this.
const PRESENT: f32 = 2e-3;
/// A tone absent from a stream: below this (a hundredth of a present one).
const ABSENT: f32 = 2e-4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_only_hall_hears_one_mixed_stream_without_its_own_voice() {
    let sfu = common::start_sfu(false).await;
    let a = Peer::join(&sfu, "a", Some(440.0), View::High, true).await;
    let b = Peer::join(&sfu, "b", Some(660.0), View::High, true).await;
    let c = Peer::join(&sfu, "c", Some(990.0), View::Off, true).await;
    let hall = Peer::join(&sfu, "hall", None, View::Off, true).await;
    let cams_hall = cameras_for(&hall, &[&a, &b], 3).await;
    let cams_c = cameras_for(&c, &[&a, &b], 3).await;
    assert_eq!((cams_hall.len(), cams_c.len()), (3, 2));
    // Before saying anything the hall gets its three streams apart (it may not have
    // laid its page out yet).
    assert!(
        common::wait_until(WAIT, || hall.streams().len() == 3).await,
        "three separate streams first: {:?}",
        hall.streams()
    );
    assert_eq!(hall.mix(), None, "mixed before saying view off");

    go_audio_only(&sfu, &hall, &cams_hall).await;
    go_audio_only(&sfu, &c, &cams_c).await;
    for p in [&hall, &c] {
        assert!(
            common::wait_until(WAIT, || p.mixed_mid().is_some()).await,
            "{} not mixed: {:?}",
            p.id,
            p.mix()
        );
    }
    let secs = 4;
    let (got_hall, got_c) = tokio::join!(measure(&hall, secs), measure(&c, secs));
    // Exactly one audio stream each, on the m-line the `AudioMix` event named.
    for (p, got) in [(&hall, &got_hall), (&c, &got_c)] {
        assert_eq!(got.len(), 1, "{}: audio streams {got:?}", p.id);
        assert_eq!(Some(&got[0].0), p.mixed_mid().as_ref(), "{}", p.id);
        assert!(
            got[0].1 >= 40 * secs,
            "{}: {} packets in {secs} s",
            p.id,
            got[0].1
        );
    }
    let mid = &got_hall[0].0;
    let powers: Vec<f32> = TONES.iter().map(|(_, f)| hall.power(mid, *f)).collect();
    for ((who, f), p) in TONES.iter().zip(&powers) {
        assert!(*p > PRESENT, "{who}'s {f} Hz in the hall's mix: {powers:?}");
    }
    let mid_c = &got_c[0].0;
    let (pa, pb, pc) = (
        c.power(mid_c, 440.0),
        c.power(mid_c, 660.0),
        c.power(mid_c, 990.0),
    );
    assert!(
        pa > PRESENT && pb > PRESENT,
        "a and b in c's mix: {pa} {pb}"
    );
    assert!(pc < ABSENT, "c hears itself: {pc} (a {pa}, b {pb})");
    println!("Goertzel powers: the hall's mix {powers:?}; c's mix 440 {pa}, 660 {pb}, 990 {pc}");
    let (mixed_payload, mixed_wire) = kbps(got_hall[0].2, got_hall[0].1, secs);

    // The hall shows a's camera again: its audio comes apart, each tone on its own
    // m-line as the slots say.
    let cam_a = a_camera(&b);
    sfu.set_view(&hall.id, &cam_a, View::High).await.unwrap();
    assert!(
        common::wait_until(WAIT, || hall.mix() == Some((false, None))).await,
        "still mixed: {:?}",
        hall.mix()
    );
    assert!(
        common::wait_until(WAIT, || {
            hall.reset();
            std::thread::sleep(Duration::from_millis(300));
            hall.streams().len() == 3
        })
        .await,
        "separate again: {:?}",
        hall.streams()
    );
    let got = measure(&hall, secs).await;
    assert_eq!(got.len(), 3, "separate streams {got:?}");
    let mids = hall.shared.mids.lock().unwrap().clone();
    for (who, f) in TONES {
        let mid = mids
            .iter()
            .find(|(m, p)| *p == who && got.iter().any(|g| &g.0 == *m))
            .map(|(m, _)| m.clone())
            .unwrap_or_else(|| panic!("no m-line carries {who}: {mids:?}"));
        let p = hall.power(&mid, f);
        assert!(p > PRESENT, "{who}'s {f} Hz on its own m-line: {p}");
    }
    let (bytes, packets) = got.iter().fold((0, 0), |(b, p), g| (b + g.2, p + g.1));
    let (sep_payload, sep_wire) = kbps(bytes, packets, secs);
    println!(
        "audio to the hall, 3 audible speakers: mixed {mixed_payload:.1} kbit/s payload \
         ({mixed_wire:.1} on the wire, 1 stream); separate {sep_payload:.1} kbit/s payload \
         ({sep_wire:.1} on the wire, 3 streams of 48 kbit/s test tones)"
    );
    for p in [a, b, c, hall] {
        p.close().await;
    }
    sfu.shutdown().await;
}

fn a_camera(b: &Peer) -> TrackId {
    b.cameras_seen()
        .into_iter()
        .find(|(o, _)| o.0 == "a")
        .map(|(_, t)| t)
        .expect("a's camera")
}

/// CPU time (user + system, in clock ticks) of this process's threads by name.
fn thread_ticks() -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
        let ticks = fields
            .get(11)
            .and_then(|u| u.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
        *out.entry(name).or_default() += ticks;
    }
    out
}

fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let close = stat.rfind(')').unwrap_or(0);
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

/// Server CPU of mixing for one hall: 30 s with a hall receiving three separate
/// streams (joined with `default_view: off`, no views), then 30 s with an audio-only
/// hall (mixed) instead. Clock ticks are 10 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 70 s measurement: cargo test -p bridge-sfu --test audio_mix -- --ignored --nocapture"]
async fn mixing_cost() {
    let secs: u64 = std::env::var("MIX_COST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let sfu = common::start_sfu(false).await;
    // a shows the others (so the test knows their cameras), nobody else shows any.
    let a = Peer::join(&sfu, "a", Some(440.0), View::High, false).await;
    let b = Peer::join(&sfu, "b", Some(660.0), View::Off, false).await;
    let c = Peer::join(&sfu, "c", Some(990.0), View::Off, false).await;
    let mut report = Vec::new();
    for mixed in [false, true] {
        let hall = Peer::join(&sfu, &format!("hall-{mixed}"), None, View::Off, false).await;
        if mixed {
            let cams = cameras_for(&hall, &[&a], 2).await;
            go_audio_only(&sfu, &hall, &cams).await;
            assert!(common::wait_until(WAIT, || hall.mixed_mid().is_some()).await);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (t0, p0) = (thread_ticks(), process_ticks());
        hall.reset();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (t1, p1) = (thread_ticks(), process_ticks());
        let streams = hall.streams();
        let d = |n: &str| t1.get(n).unwrap_or(&0) - t0.get(n).unwrap_or(&0);
        report.push(format!(
            "{}: {} stream(s), {:.1} kbit/s payload; CPU over {secs} s: media thread {} ms, \
             mixing thread {} ms, whole test process {} ms",
            if mixed { "mixed" } else { "separate" },
            streams.len(),
            streams.iter().map(|s| s.2).sum::<u64>() as f64 * 8.0 / secs as f64 / 1000.0,
            d("sfu-media") * 10,
            d("sfu-mix") * 10,
            (p1 - p0) * 10,
        ));
        hall.close().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for r in report {
        println!("{r}");
    }
    for p in [a, b, c] {
        p.close().await;
    }
    sfu.shutdown().await;
}
