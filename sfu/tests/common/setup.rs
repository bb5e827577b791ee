//! The test clients build their `webrtc` peer connections exactly as the end-to-end
//! tests do (Opus + VP8 + H.264, loopback only, no mDNS).

use std::sync::Arc;
use webrtc::peer_connection::{PeerConnection, PeerConnectionEventHandler};

pub use bridge_e2e::rtc_setup::{OPUS_PT, VP8_PT, new_track, opus_codec, vp8_codec};

/// One peer connection bound to one loopback UDP socket (or, with `tcp`, to no UDP
/// socket at all and ICE-TCP active candidates).
pub async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    tcp: bool,
) -> Arc<dyn PeerConnection> {
    bridge_e2e::rtc_setup::build_pc(handler, tcp)
        .await
        .expect("test peer connection")
}
