//! How the server builds its sans-IO peer connections: codecs, header extensions,
//! interceptors, SRTP profiles, ICE credentials and host candidates.

use crate::api::{IceCandidate, SfuError};
use crate::estimate::{ReportedLoss, SharedEstimate};
use crate::pacer::PacerInterceptor;
use rtc::dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc::interceptor::{
    Attribute, CongestionControlBuilder, Interceptor, Packet, Registry, Slot, StreamInfo,
    TaggedPacket,
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
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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
    let mut feedback = FeedbackToApp::default();
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
        let raw = Arc::new(AtomicU64::new(0));
        let reported = Arc::new(ReportedLoss::default());
        feedback.reported = Some(reported.clone());
        registry = registry.with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(SharedEstimate::new(raw.clone(), reported)).build(),
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
    registry = registry.with(Slot::from(14_000), feedback);

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
/// chain swallows inbound RTCP otherwise (docs/architecture.md, "Pitfalls"). On a
/// subscribe connection it also counts what the transport-cc feedback reports
/// (estimate.rs, `ReportedLoss`).
#[derive(Default)]
struct FeedbackToApp {
    reported: Option<Arc<ReportedLoss>>,
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
        let mut wanted = false;
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for p in packets {
                let any = p.as_any();
                wanted |= any.is::<PictureLossIndication>()
                    || any.is::<FullIntraRequest>()
                    || any.is::<TransportLayerNack>();
                if let (Some(reported), Some(cc)) =
                    (&self.reported, any.downcast_ref::<TransportLayerCc>())
                {
                    reported.count(cc);
                }
            }
        }
        if wanted {
            msg.message.add(Attribute::DeliverToApplication);
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
