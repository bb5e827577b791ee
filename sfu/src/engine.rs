//! How the server builds its sans-IO peer connections: codecs, header extensions,
//! interceptors, SRTP profiles, ICE credentials and host candidates.

use crate::api::{IceCandidate, SfuError};
use crate::pacer::PacerInterceptor;
use rtc::dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::interceptor::{
    BandwidthEstimator, CongestionControlBuilder, EstimatorStats, Gcc, PacketReport,
};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_simulcast_extension_headers, configure_twcc_receiver_only, configure_twcc_sender_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
pub const OPUS_PT: u8 = 111;
pub const VP8_PT: u8 = 96;
pub const H264_PT: u8 = 102;
/// Retransmission requests the publish side's NACK generator sends per lost packet
/// (the default keeps asking; see docs/architecture.md, "Pitfalls").
const MAX_NACKS_PER_PACKET: u16 = 3;

fn video_feedback() -> Vec<RTCPFeedback> {
    [
        ("nack", ""),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("goog-remb", ""),
    ]
    .into_iter()
    .map(|(typ, parameter)| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    })
    .collect()
}

/// The codecs the bridge speaks, with fixed payload types on the server's own offers.
pub fn codecs() -> Vec<(RTCRtpCodecParameters, RtpCodecKind)> {
    let opus = RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        // In-band FEC (a lost frame is rebuilt from the next one's low-rate copy) and
        // DTX: both are the receiver's wish (RFC 7587). Here they are what our offers
        // say; rtc answers a publisher with the offer's own fmtp, which
        // `with_opus_fec_and_dtx` completes. rtc matches an fmtp that agrees on the
        // keys both name, so a browser's offer without `usedtx` still matches.
        sdp_fmtp_line: "minptime=10;useinbandfec=1;usedtx=1".to_owned(),
        rtcp_feedback: vec![],
    };
    let vp8 = RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: video_feedback(),
    };
    let h264 = RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: video_feedback(),
    };
    vec![
        (param(opus, OPUS_PT), RtpCodecKind::Audio),
        (param(vp8, VP8_PT), RtpCodecKind::Video),
        (param(h264, H264_PT), RtpCodecKind::Video),
    ]
}

fn param(rtp_codec: RTCRtpCodec, payload_type: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec,
        payload_type,
    }
}

fn media_engine() -> Result<MediaEngine, SfuError> {
    let mut m = MediaEngine::default();
    for (codec, kind) in codecs() {
        m.register_codec(codec, kind).map_err(engine)?;
    }
    m.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )
    .map_err(engine)?;
    Ok(m)
}

/// Our answer to a publisher's offer, asking its Opus encoder for in-band FEC and DTX.
/// rtc answers with the offer's own Opus fmtp (Chrome's carries `useinbandfec=1` and
/// no `usedtx`), and both parameters are the receiver's wish (RFC 7587): the sender
/// reads them from the remote description, so they must be in the answer we send.
/// `usedtx=1`: a silent microphone sends a frame every 400 ms instead of every 20 ms,
/// which a thin uplink feels; the forwarding (the rewriter keeps the timestamp
/// offset across the gap), the speaker ranking (a silent window simply has no level)
/// and the recorder's mix (silence where no frame came) take the gaps.
pub fn with_opus_fec_and_dtx(sdp: &str) -> String {
    let opus_pts: Vec<&str> = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/"))
        .map(|(pt, _)| pt)
        .collect();
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(sdp.len() + 32);
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let fmtp = body.strip_prefix("a=fmtp:").and_then(|r| r.split_once(' '));
        match fmtp {
            Some((pt, params)) if opus_pts.contains(&pt) => {
                let mut params: Vec<String> = params
                    .split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .filter(|p| !p.starts_with("useinbandfec=") && !p.starts_with("usedtx="))
                    .map(str::to_owned)
                    .collect();
                params.push("useinbandfec=1".to_owned());
                params.push("usedtx=1".to_owned());
                out.push_str(&format!("a=fmtp:{pt} {}{eol}", params.join(";")));
            }
            _ => out.push_str(line),
        }
    }
    out
}

pub fn engine(e: impl std::fmt::Display) -> SfuError {
    SfuError::Engine(e.to_string())
}

/// Which of the two connection shapes to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Receives media: NACK generation (capped), receiver reports, TWCC feedback.
    Publish,
    /// Sends forwarded media: sender reports; NACKs are answered by the SFU's own
    /// cache, so no NACK responder (it would keep a copy per subscriber).
    Subscribe,
}

/// Where the subscribe side's estimate starts: a hall on a thin link must not be sent
/// more than it carries before the first feedback says so. 300 kbit/s is the main
/// stage's lowest layer and the audio; GCC raises it from there (8 % a second while
/// the link shows no queue), and the layers follow once it has held (layers.rs,
/// `EstimateHold`). It was 2.5 Mbit/s: a new hall got 720p, and a 256 kbit/s link
/// queued seconds of it ahead of the audio.
pub const GCC_INITIAL_BPS: f64 = 300_000.0;
/// Low enough that a collapsing link can fall under the audio-only threshold.
const GCC_MIN_BPS: f64 = 50_000.0;
const GCC_MAX_BPS: f64 = 20_000_000.0;

/// Google Congestion Control on what we send a subscriber (from its transport-cc
/// feedback), publishing its target to the pacer (pacer.rs), which paces under it and
/// publishes what the layer selection reads: the interceptor chain owns the estimator,
/// so the number is pushed out rather than read (the pattern of rtc's
/// bandwidth-estimation example).
struct SharedEstimate {
    inner: Gcc,
    out: Arc<AtomicU64>,
    acked: AckedRate,
}

/// Above this share of packets lost (over the last second), the estimate is held under what the
/// subscriber acknowledges receiving: rtc's loss half climbs 5 % per 200 ms while the
/// link is clean, whatever is sent (it was at 14 Mbit/s with 1 Mbit/s sent), and
/// then needs seconds of heavy loss to come back down; a link that drops packets
/// carries what arrives, no more.
const LOSS_CAP_ABOVE: f64 = 0.1;
/// A share of lost packets means something only over this many packets: feedback
/// comes in batches of a few packets, and on a link that loses 5 % at random a
/// smoothed per-batch figure was above 10 % half the time, which held the estimate at
/// what was being sent (audio, mostly) and starved the video for good.
const LOSS_MIN_PACKETS: usize = 50;

/// What the subscriber acknowledged receiving over the last second, and the share of
/// packets it did not.
#[derive(Default)]
struct AckedRate {
    /// (when, bytes arrived, packets arrived, packets lost) per feedback batch.
    batches: VecDeque<(Instant, usize, usize, usize)>,
    bytes: usize,
    arrived: usize,
    lost: usize,
}

const ACKED_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

impl AckedRate {
    fn add(&mut self, now: Instant, reports: &[PacketReport]) {
        let bytes: usize = reports.iter().filter(|r| r.arrived).map(|r| r.size).sum();
        let lost = reports.iter().filter(|r| !r.arrived).count();
        let arrived = reports.len() - lost;
        self.batches.push_back((now, bytes, arrived, lost));
        self.bytes += bytes;
        self.arrived += arrived;
        self.lost += lost;
        while let Some(&(t, b, a, l)) = self.batches.front() {
            if now.saturating_duration_since(t) <= ACKED_WINDOW {
                break;
            }
            self.batches.pop_front();
            self.bytes -= b;
            self.arrived -= a;
            self.lost -= l;
        }
    }

    /// The share of packets lost over the window, once it holds enough of them.
    fn loss(&self) -> f64 {
        let total = self.arrived + self.lost;
        if total < LOSS_MIN_PACKETS {
            return 0.0;
        }
        self.lost as f64 / total as f64
    }

    /// Bit/s over the window, once it spans most of it.
    fn rate(&self, now: Instant) -> Option<f64> {
        let (first, ..) = *self.batches.front()?;
        let span = now.saturating_duration_since(first).as_secs_f64();
        (span >= 0.5).then(|| self.bytes as f64 * 8.0 / span)
    }
}

/// The estimate published: GCC's, held under the acknowledged rate while the loss is
/// heavy (as libwebrtc's loss-based controller does), never under the floor.
fn loss_capped(target: f64, acked_bps: Option<f64>, loss: f64) -> f64 {
    match acked_bps {
        Some(acked) if loss > LOSS_CAP_ABOVE => target.min(acked).max(GCC_MIN_BPS),
        _ => target,
    }
}

impl BandwidthEstimator for SharedEstimate {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        if !reports.is_empty() {
            self.acked.add(now, reports);
            let target = loss_capped(
                self.inner.target_bitrate(),
                self.acked.rate(now),
                self.acked.loss(),
            );
            self.out.store(target as u64, Ordering::Relaxed);
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

/// Builds one peer connection with the given host candidates. rtc picks its ICE
/// credentials (and new ones at each ICE restart): the demux learns each local ufrag
/// from the descriptions we set (`State::learn_ufrag`). `estimate` (subscribe side)
/// receives the bandwidth estimate in bit/s.
pub fn build_pc(
    role: Role,
    candidates: &[IceCandidate],
    estimate: Option<Arc<AtomicU64>>,
    now: Instant,
) -> Result<RTCPeerConnection, SfuError> {
    let mut media = media_engine()?;
    let mut registry = Registry::new();
    if role == Role::Publish {
        registry = registry.with(
            Slot::NackGenerator,
            rtc::interceptor::NackGeneratorBuilder::new()
                .with_max_nacks_per_packet(MAX_NACKS_PER_PACKET)
                .build(),
        );
        registry = configure_twcc_receiver_only(registry, &mut media).map_err(engine)?;
        // rid-based simulcast: the MID and RID header extensions map each encoding's
        // SSRC to its m-line and layer.
        configure_simulcast_extension_headers(&mut media).map_err(engine)?;
    }
    if let Some(out) = estimate {
        // Send history and feedback ingest, and our own pacer (not rtc's: it would hold
        // audio behind video and drop at random when full; see pacer.rs). The estimate
        // acts through the pacer (bursts wait here, not in a thin link's queue) and
        // through the layer selection (the average fits the link).
        registry = configure_twcc_sender_only(registry, &mut media).map_err(engine)?;
        let gcc = Gcc::new(GCC_INITIAL_BPS, GCC_MIN_BPS, GCC_MAX_BPS);
        let raw = Arc::new(AtomicU64::new(GCC_INITIAL_BPS as u64));
        registry = registry.with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(SharedEstimate {
                inner: gcc,
                out: raw.clone(),
                acked: AckedRate::default(),
            })
            .build(),
        );
        registry = registry.with(Slot::Pacer, PacerInterceptor::new(raw, out));
    }
    // Reports only where they mean something: receiver reports about what the
    // publisher sends us, sender reports about what we send a subscriber.
    registry = match role {
        Role::Publish => registry.with(
            Slot::ReceiverReport,
            rtc::interceptor::ReceiverReportBuilder::new().build(),
        ),
        Role::Subscribe => registry.with(
            Slot::SenderReport,
            rtc::interceptor::SenderReportBuilder::new().build(),
        ),
    };
    // Application-most slot: the other interceptors see the feedback first.
    registry = registry.with(Slot::from(14_000), FeedbackToApp::default());

    let settings = SettingEngineBuilder::new()
        .with_srtp_protection_profiles(vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ])
        // On the subscribe connection we are the controlling agent. The ICE defaults wait
        // 1 s before nominating a peer-reflexive pair (0.5 s server-reflexive) in case a
        // better one appears; a browser hides its host address behind mDNS, so its pair is
        // always peer-reflexive, and we have nothing better to offer than our one host
        // candidate: every hall saw the others a second late. Nominate at once.
        .with_prflx_acceptance_min_wait(Some(std::time::Duration::ZERO))
        .with_srflx_acceptance_min_wait(Some(std::time::Duration::ZERO))
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .build(now)
        .map_err(engine)?;
    for c in candidates {
        pc.add_local_candidate(rtc::peer_connection::transport::RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            ..Default::default()
        })
        .map_err(engine)?;
    }
    Ok(pc)
}

/// Host candidates for every announced address on the shared UDP port (and the
/// ICE-TCP ports, passive).
pub fn host_candidates(
    announce: &[std::net::IpAddr],
    udp: SocketAddr,
    tcp_ports: &[u16],
) -> Result<Vec<IceCandidate>, SfuError> {
    let mut out = Vec::new();
    for ip in announce {
        let mut configs = vec![CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: ip.to_string(),
                port: udp.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }];
        for &port in tcp_ports {
            configs.push(CandidateHostConfig {
                base_config: CandidateConfig {
                    network: "tcp".to_owned(),
                    address: ip.to_string(),
                    port,
                    component: 1,
                    ..Default::default()
                },
                tcp_type: rtc::ice::tcp_type::TcpType::Passive,
            });
        }
        for config in configs {
            let c = config.new_candidate_host().map_err(engine)?;
            let init = RTCIceCandidate::from(&c).to_json().map_err(engine)?;
            out.push(IceCandidate {
                candidate: init.candidate,
                sdp_mid: Some("0".to_owned()),
                sdp_m_line_index: Some(0),
            });
        }
    }
    Ok(out)
}

/// Marks inbound keyframe requests and NACKs for the application: the interceptor
/// chain swallows inbound RTCP otherwise (docs/architecture.md, "Pitfalls").
#[derive(Default)]
struct FeedbackToApp {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackToApp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let wanted = packets.iter().any(|p| {
                let any = p.as_any();
                any.is::<PictureLossIndication>()
                    || any.is::<FullIntraRequest>()
                    || any.is::<TransportLayerNack>()
            });
            if wanted {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackToApp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::peer_connection::sdp::RTCSessionDescription;

    fn report(size: usize, arrived: bool, at: Instant) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id: 0,
            rtp_sequence_number: 0,
            is_twcc: true,
            twcc_sequence_number: 0,
            size,
            arrived,
            departure: at,
            arrival: arrived.then(|| std::time::Duration::from_millis(10)),
            ecn: Default::default(),
        }
    }

    /// A link that drops most of what is sent gets an estimate of what arrives, at
    /// once; light loss leaves GCC's estimate alone.
    #[test]
    fn heavy_loss_holds_the_estimate_under_what_arrives() {
        let t0 = Instant::now();
        let mut acked = AckedRate::default();
        for i in 0..10u64 {
            let at = t0 + std::time::Duration::from_millis(100 * i);
            // Per 100 ms: 3 of 10 packets of 1,000 bytes arrive: 240 kbit/s.
            let batch: Vec<_> = (0..10).map(|k| report(1_000, k < 3, at)).collect();
            acked.add(at, &batch);
        }
        let now = t0 + std::time::Duration::from_millis(900);
        let rate = acked.rate(now).unwrap();
        assert!((250_000.0..=280_000.0).contains(&rate), "{rate}");
        assert!(acked.loss() > 0.6, "{}", acked.loss());
        assert_eq!(loss_capped(14_000_000.0, Some(rate), acked.loss()), rate);
        assert_eq!(loss_capped(14_000_000.0, Some(rate), 0.05), 14_000_000.0);
        assert_eq!(loss_capped(14_000_000.0, None, 0.9), 14_000_000.0);
        assert_eq!(loss_capped(14_000_000.0, Some(1_000.0), 0.9), GCC_MIN_BPS);
        assert_eq!(loss_capped(200_000.0, Some(rate), 0.9), 200_000.0);
    }

    /// 5 % random loss in small feedback batches (one in twenty, and batches of a
    /// few packets) is not heavy: the estimate is left to GCC. A smoothed per-batch
    /// figure used to read above 10 % and starved the video.
    #[test]
    fn light_random_loss_in_small_batches_is_not_heavy() {
        let t0 = Instant::now();
        let mut acked = AckedRate::default();
        let mut n = 0u32;
        for i in 0..20u64 {
            let at = t0 + std::time::Duration::from_millis(50 * i);
            let batch: Vec<_> = (0..4)
                .map(|_| {
                    n += 1;
                    report(1_000, !n.is_multiple_of(20), at)
                })
                .collect();
            acked.add(at, &batch);
            assert!(
                acked.loss() <= LOSS_CAP_ABOVE,
                "{} at batch {i}",
                acked.loss()
            );
        }
        assert!(acked.loss() > 0.0);
    }

    /// The answer to Chrome's publish offer, as negotiate.rs sends it, asks for in-band
    /// FEC and DTX: Chrome's Opus encoder follows the remote description's fmtp.
    #[test]
    fn the_answer_to_a_publisher_asks_for_opus_fec_and_dtx() {
        let now = Instant::now();
        let mut pc = build_pc(Role::Publish, &[], None, now).unwrap();
        let offer =
            RTCSessionDescription::offer(include_str!("testdata/chrome_offer.sdp").to_owned())
                .unwrap();
        pc.set_remote_description(now, offer).unwrap();
        let answer = with_opus_fec_and_dtx(&pc.create_answer(None).unwrap().sdp);
        let fmtp = answer
            .lines()
            .find(|l| l.starts_with("a=fmtp:111 "))
            .unwrap_or_else(|| panic!("no Opus fmtp in {answer}"));
        assert!(fmtp.contains("useinbandfec=1"), "{fmtp}");
        assert!(fmtp.contains("usedtx=1"), "{fmtp}");
        assert!(answer.contains("a=rtpmap:111 opus/48000/2"), "{answer}");
        // Nothing else changes; a second pass changes nothing.
        assert_eq!(
            answer.lines().count(),
            pc.create_answer(None).unwrap().sdp.lines().count()
        );
        assert_eq!(with_opus_fec_and_dtx(&answer), answer);
        let off =
            "a=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10;usedtx=0\r\na=fmtp:96 x=1\r\n";
        assert_eq!(
            with_opus_fec_and_dtx(off),
            "a=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10;useinbandfec=1;usedtx=1\r\na=fmtp:96 x=1\r\n"
        );
    }
}
