//! What a test client publishes and how it behaves.

use std::time::Duration;

/// What a client publishes.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Publish an Opus sine tone at this frequency.
    pub tone_hz: Option<f32>,
    /// Publish fake VP8 video at this bitrate.
    pub video_bps: Option<u32>,
    pub fps: u32,
    /// Send a keyframe at least this often (besides the first and on PLI/FIR).
    pub keyframe_every: Option<Duration>,
    /// ICE over TCP only: no UDP socket at all.
    pub tcp_only: bool,
    /// End every video frame with its send time (see `media::SEND_TIME_MAGIC`), so
    /// receivers measure the one-way delay through the server (the load generator).
    pub stamp_send_time: bool,
    /// Publish the camera as three simulcast encodings (rids `q`, `h`, `f`) at these
    /// bitrates, lowest first, instead of one at `video_bps`; the server's `layers`
    /// messages pause and resume them, as a browser does.
    pub simulcast: Option<[u32; 3]>,
    /// Talk in spurts instead of a continuous tone, so the active-speaker ranking has
    /// something to rank.
    pub talk_spurts: Option<TalkSpurts>,
    /// Decode received audio (for the tone checks). A load generator turns it off: its
    /// many clients would spend the cores the server needs.
    pub decode_audio: bool,
    /// Sent in `join` as `default_view`: how we show every video we sent no `view` for.
    /// `None` sends nothing (the server's default, `high`). A client that shows only
    /// some videos joins with `Some(Quality::Off)` and sends a `view` for each it shows
    /// ([`super::Client::view`]).
    pub default_view: Option<Quality>,
}

/// Speech as the active-speaker detector sees it: the tone (a loud audio level) for
/// `talk`, then near silence (level 127) for `pause`, starting at a random point of the
/// cycle so that many sites are not in step.
#[derive(Debug, Clone, Copy)]
pub struct TalkSpurts {
    pub talk: Duration,
    pub pause: Duration,
}

/// How a receiver shows a video (the `quality` of a `view` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    High,
    Low,
    Off,
}

impl Quality {
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::High => "high",
            Quality::Low => "low",
            Quality::Off => "off",
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tone_hz: Some(440.0),
            video_bps: Some(1_000_000),
            fps: 25,
            keyframe_every: Some(Duration::from_secs(10)),
            tcp_only: false,
            stamp_send_time: false,
            simulcast: None,
            talk_spurts: None,
            decode_audio: true,
            default_view: None,
        }
    }
}

impl ClientOptions {
    /// Receive only.
    pub fn silent() -> Self {
        ClientOptions {
            tone_hz: None,
            video_bps: None,
            simulcast: None,
            ..Default::default()
        }
    }
}
