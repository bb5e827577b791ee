//! How the test clients build their `webrtc` peer connections: Opus + VP8 (+ H.264 so
//! a browser's stream can be received), the audio-level extension, NACK and RTCP
//! reports, keyframe requests handed to the application, loopback-only UDP, no mDNS.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_rtcp_reports, configure_simulcast_extension_headers,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    Registry, SettingEngineBuilder,
};

pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
pub const OPUS_PT: u8 = 111;
pub const VP8_PT: u8 = 96;

pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn video_feedback() -> Vec<RTCPFeedback> {
    [("nack", ""), ("nack", "pli"), ("ccm", "fir")]
        .into_iter()
        .map(|(t, p)| RTCPFeedback {
            typ: t.to_owned(),
            parameter: p.to_owned(),
        })
        .collect()
}

pub fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: video_feedback(),
    }
}

/// No RTX on purpose: retransmissions then come on the original SSRC, so a repaired gap
/// is visible as repaired in the sequence accounting.
fn media_engine() -> webrtc::error::Result<MediaEngine> {
    let mut m = MediaEngine::default();
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8_codec(),
            payload_type: VP8_PT,
        },
        RtpCodecKind::Video,
    )?;
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_H264.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line:
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                        .to_owned(),
                rtcp_feedback: video_feedback(),
            },
            payload_type: 102,
        },
        RtpCodecKind::Video,
    )?;
    m.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    Ok(m)
}

/// Builds one peer connection bound to one loopback UDP socket, or with `tcp_only`
/// to no UDP socket at all and ICE-TCP active candidates (a hall behind a firewall
/// that lets only TCP out).
pub async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    tcp_only: bool,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    build_pc_with(handler, tcp_only, false).await
}

/// Like [`build_pc`]; with `simulcast` the MID and RID header extensions are offered
/// too, which a simulcast publisher needs (the server tells its encodings apart by RID).
/// Off by default so the SDP of a plain client stays as it was.
pub async fn build_pc_with(
    handler: Arc<dyn PeerConnectionEventHandler>,
    tcp_only: bool,
    simulcast: bool,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut media = media_engine()?;
    if simulcast {
        configure_simulcast_extension_headers(&mut media)?;
    }
    let registry = configure_nack(Registry::new(), &mut media);
    let registry = configure_rtcp_reports(registry);
    // Application-most, so the other interceptors have seen all inbound RTCP first.
    let registry = registry.with(Slot::from(14_000), KeyframeRequestForwarder::default());
    let network = if tcp_only {
        NetworkType::Tcp4
    } else {
        NetworkType::Udp4
    };
    let settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(true)
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_network_types(vec![network])
        .build();
    let builder = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(handler);
    let builder = if tcp_only {
        builder
            .with_udp_addrs(Vec::<&'static str>::new())
            .with_tcp_addrs(vec!["127.0.0.1:0"])
    } else {
        builder.with_udp_addrs(vec!["127.0.0.1:0"])
    };
    Ok(Arc::new(builder.build().await?))
}

/// Marks inbound PLI/FIR for the application (the chain swallows inbound RTCP
/// otherwise), so a publisher can answer a keyframe request; drops other RTCP here.
#[derive(Default)]
struct KeyframeRequestForwarder {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| {
                    let any = p.as_any();
                    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
                })
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
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

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// A local sample track with its own random SSRC, as a test client publishes it.
pub fn new_track(
    kind: rtc::rtp_transceiver::rtp_sender::RtpCodecKind,
    codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec,
    id: &str,
) -> anyhow::Result<(
    Arc<webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample>,
    u32,
)> {
    let (track, ssrcs) = new_track_with_rids(kind, codec, id, &[""])?;
    Ok((track, ssrcs[0]))
}

/// A local sample track with one encoding per rid (`""`: a single unnamed one), each
/// with its own random SSRC, returned in the order of `rids`.
pub fn new_track_with_rids(
    kind: rtc::rtp_transceiver::rtp_sender::RtpCodecKind,
    codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec,
    id: &str,
    rids: &[&str],
) -> anyhow::Result<(
    Arc<webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample>,
    Vec<u32>,
)> {
    use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters};
    let ssrcs: Vec<u32> = rids.iter().map(|_| rand::random::<u32>()).collect();
    let encodings = rids
        .iter()
        .zip(&ssrcs)
        .map(|(rid, ssrc)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: (*rid).to_owned(),
                ssrc: Some(*ssrc),
                ..Default::default()
            },
            codec: codec.clone(),
            ..Default::default()
        })
        .collect();
    let track = rtc::media_stream::MediaStreamTrack::new(
        "e2e-stream".to_owned(),
        id.to_owned(),
        id.to_owned(),
        kind,
        encodings,
    );
    Ok((
        Arc::new(
            webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample::new(
                Instant::now(),
                track,
            )?,
        ),
        ssrcs,
    ))
}

/// The mid of the m-line a remote track arrives on: the transceiver whose receiver holds
/// `track`. With subscribe slots the msid no longer names the sender, so a receiver
/// attributes media through its mid map (`subscribe_offer.tracks` and `slots`) by this
/// mid. The mid of an m-line never changes; what it carries does. Retries briefly (the
/// transceiver is registered just before `on_track` fires); `None` if the connection is
/// gone or the track belongs to none of its transceivers.
pub async fn mid_of(
    pc: &std::sync::Weak<dyn PeerConnection>,
    track: &Arc<dyn webrtc::media_stream::track_remote::TrackRemote>,
) -> Option<String> {
    for _ in 0..50 {
        {
            let pc = pc.upgrade()?;
            for t in pc.get_transceivers().await {
                if let Ok(Some(r)) = t.receiver().await
                    && Arc::ptr_eq(r.track(), track)
                    && let Ok(Some(mid)) = t.mid().await
                {
                    return Some(mid);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}
