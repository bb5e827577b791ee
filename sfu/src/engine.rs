//! How the server builds its sans-IO peer connections: codecs, header extensions,
//! interceptors, SRTP profiles, ICE credentials and host candidates.

use crate::api::{IceCandidate, SfuError};
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
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
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

/// Where the subscribe side's estimate starts: high enough that a new subscriber
/// starts on the best layers, as it did before it had any feedback.
const GCC_INITIAL_BPS: f64 = 2_500_000.0;
/// Low enough that a collapsing link can fall under the audio-only threshold.
const GCC_MIN_BPS: f64 = 50_000.0;
const GCC_MAX_BPS: f64 = 20_000_000.0;

/// Google Congestion Control on what we send a subscriber (from its transport-cc
/// feedback), publishing its target for the layer selection: the interceptor chain
/// owns the estimator, so the number is pushed out rather than read (the pattern of
/// rtc's bandwidth-estimation example). 0 until the first feedback: a client that
/// negotiated no transport-cc never moves it, and then only its views count.
struct SharedEstimate {
    inner: Gcc,
    out: Arc<AtomicU64>,
}

impl BandwidthEstimator for SharedEstimate {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        if !reports.is_empty() {
            self.out
                .store(self.inner.target_bitrate() as u64, Ordering::Relaxed);
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

/// Builds one peer connection with the given local ICE credentials and host candidates.
/// `estimate` (subscribe side) receives the bandwidth estimate in bit/s.
pub fn build_pc(
    role: Role,
    ufrag: &str,
    pwd: &str,
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
        // Send history and feedback ingest without rtc's pacer: the forwarded streams
        // are already paced by their publishers, and a queue here would only add delay;
        // the estimate acts through the layer selection instead.
        registry = configure_twcc_sender_only(registry, &mut media).map_err(engine)?;
        let gcc = Gcc::new(GCC_INITIAL_BPS, GCC_MIN_BPS, GCC_MAX_BPS);
        registry = registry.with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(SharedEstimate { inner: gcc, out }).build(),
        );
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
        .with_ice_credentials(ufrag.to_owned(), pwd.to_owned())
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
