//! Network quality per site: what the browser measures (loss, round trip, bitrates, from
//! its own WebRTC statistics) joined with what the media plane knows (the bandwidth
//! estimate and the simulcast layer it forwards). Pure: validation and the "poor" rule.

use bridge_sfu::SubscriberStats;
use serde::{Deserialize, Serialize};

/// Loss at or above this, in percent, makes a site's network poor.
pub const POOR_LOSS_PCT: f32 = 8.0;
/// A round trip at or above this makes it poor.
pub const POOR_RTT_MS: u32 = 500;
/// Below the thin-link threshold the site gets only the main stage's lowest layer.
pub const POOR_ESTIMATE_KBPS: u32 = (bridge_sfu::layers::THIN_LINK_BPS / 1000) as u32;

/// What a client reports (`quality` message), checked before use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Packets lost of those expected, receiving, over the last few seconds.
    pub loss_pct: f32,
    pub rtt_ms: u32,
    pub recv_kbps: u32,
    pub send_kbps: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityError {
    #[error("loss_pct must be between 0 and 100, got {0}")]
    Loss(f32),
    #[error("rtt_ms must be at most 60000, got {0}")]
    Rtt(u32),
    #[error("bitrates must be at most 1000000 kbit/s")]
    Bitrate,
}

impl QualityReport {
    pub fn check(self) -> Result<Self, QualityError> {
        if !(0.0..=100.0).contains(&self.loss_pct) {
            return Err(QualityError::Loss(self.loss_pct));
        }
        if self.rtt_ms > 60_000 {
            return Err(QualityError::Rtt(self.rtt_ms));
        }
        if self.recv_kbps > 1_000_000 || self.send_kbps > 1_000_000 {
            return Err(QualityError::Bitrate);
        }
        Ok(self)
    }
}

/// A site's network as the chair and the site see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteQuality {
    pub loss_pct: f32,
    pub rtt_ms: u32,
    pub recv_kbps: u32,
    pub send_kbps: u32,
    /// The server's bandwidth estimate toward the site (transport-cc), if it sends
    /// feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_kbps: Option<u32>,
    /// The simulcast layer of the main stage it receives (0 lowest), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u8>,
    pub poor: bool,
}

impl SiteQuality {
    /// Joins the client's report with what the media plane forwards to it. The main
    /// stage is the video received at `View::High` with the highest layer.
    pub fn new(r: QualityReport, receiving: Option<&SubscriberStats>) -> Self {
        let estimate_kbps = receiving
            .and_then(|s| s.estimate_bps)
            .map(|b| u32::try_from(b / 1000).unwrap_or(u32::MAX));
        let layer = receiving.and_then(|s| {
            s.videos
                .iter()
                .filter(|v| v.view == bridge_sfu::View::High)
                .filter_map(|v| v.layer)
                .max()
        });
        let poor = r.loss_pct >= POOR_LOSS_PCT
            || r.rtt_ms >= POOR_RTT_MS
            || estimate_kbps.is_some_and(|e| e < POOR_ESTIMATE_KBPS);
        SiteQuality {
            loss_pct: (r.loss_pct * 10.0).round() / 10.0,
            rtt_ms: r.rtt_ms,
            recv_kbps: r.recv_kbps,
            send_kbps: r.send_kbps,
            estimate_kbps,
            layer,
            poor,
        }
    }

    /// Of two participants of one site, the one to show: the poorer.
    pub fn worse<'a>(a: &'a SiteQuality, b: &'a SiteQuality) -> &'a SiteQuality {
        let key = |q: &SiteQuality| (q.poor, q.loss_pct, q.rtt_ms);
        if key(b).partial_cmp(&key(a)) == Some(std::cmp::Ordering::Greater) {
            b
        } else {
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_sfu::{ParticipantId, ReceivedVideo, TrackId, View};

    fn report(loss_pct: f32, rtt_ms: u32) -> QualityReport {
        QualityReport {
            loss_pct,
            rtt_ms,
            recv_kbps: 600,
            send_kbps: 300,
        }
    }

    #[test]
    fn reports_out_of_range_are_refused() {
        assert!(report(0.0, 0).check().is_ok());
        assert_eq!(report(-1.0, 0).check(), Err(QualityError::Loss(-1.0)));
        assert!(report(f32::NAN, 0).check().is_err());
        assert_eq!(report(1.0, 70_000).check(), Err(QualityError::Rtt(70_000)));
        let mut r = report(1.0, 10);
        r.recv_kbps = u32::MAX;
        assert_eq!(r.check(), Err(QualityError::Bitrate));
    }

    #[test]
    fn loss_delay_or_a_thin_estimate_make_a_site_poor() {
        assert!(!SiteQuality::new(report(2.0, 120), None).poor);
        assert!(SiteQuality::new(report(8.0, 120), None).poor);
        assert!(SiteQuality::new(report(0.0, 650), None).poor);
        let stats = SubscriberStats {
            participant_id: ParticipantId::from("p"),
            estimate_bps: Some(180_000),
            videos: vec![
                ReceivedVideo {
                    track_id: TrackId::from("main"),
                    view: View::High,
                    layer: Some(0),
                    rid: Some("q".into()),
                },
                ReceivedVideo {
                    track_id: TrackId::from("thumb"),
                    view: View::Low,
                    layer: Some(0),
                    rid: Some("q".into()),
                },
            ],
        };
        let q = SiteQuality::new(report(1.0, 80), Some(&stats));
        assert_eq!(
            (q.estimate_kbps, q.layer, q.poor),
            (Some(180), Some(0), true)
        );
    }

    #[test]
    fn the_poorer_participant_speaks_for_the_site() {
        let good = SiteQuality::new(report(1.0, 80), None);
        let bad = SiteQuality::new(report(12.0, 80), None);
        assert_eq!(SiteQuality::worse(&good, &bad), &bad);
        assert_eq!(SiteQuality::worse(&bad, &good), &bad);
    }
}
