//! The roll call a chair sees: every site expected in the room (the meeting's invited
//! units, when the room belongs to a meeting) with its state, plus anyone else present.
//! Pure: the expected sites, who is here and who has been here in, the list out.

use crate::messages::{ParticipantInfo, Presence};
use crate::quality::SiteQuality;
use bridge_sfu::{ParticipantId, TrackSource};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The last network quality each participant reported.
pub type Qualities = HashMap<ParticipantId, SiteQuality>;

/// A site the room expects: a unit code and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub unit: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteState {
    NotJoined,
    Connected,
    /// Was here during this session, is not now.
    Left,
}

/// One line of the roll call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollEntry {
    pub unit: Option<String>,
    pub name: String,
    pub state: SiteState,
    /// A live, unmuted microphone / camera reaches the server.
    pub audio: bool,
    pub video: bool,
    /// Whether the room expected this site.
    pub expected: bool,
    pub participants: Vec<ParticipantId>,
    /// For a connected site: the best presence among its participants (media up,
    /// dropped and held for the grace period, or joined without media).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
    /// The poorest network among its participants, once they reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<SiteQuality>,
}

fn live(p: &ParticipantInfo, source: TrackSource) -> bool {
    let muted = match source {
        TrackSource::Microphone => p.muted.microphone,
        TrackSource::Camera => p.muted.camera,
        TrackSource::Screen => false,
    };
    !muted && p.tracks.iter().any(|t| t.source == source)
}

fn entry(
    unit: Option<String>,
    name: String,
    expected: bool,
    here: &[&ParticipantInfo],
    seen: bool,
    qualities: &Qualities,
) -> RollEntry {
    let quality = here
        .iter()
        .filter_map(|p| qualities.get(&p.id))
        .reduce(SiteQuality::worse)
        .cloned();
    // Media up beats a held place, which beats a socket without media.
    let presence = here.iter().map(|p| p.presence).max_by_key(|p| match p {
        Presence::Connected => 2,
        Presence::Reconnecting => 1,
        Presence::NoMedia => 0,
    });
    RollEntry {
        quality,
        presence,
        state: match (here.is_empty(), seen) {
            (false, _) => SiteState::Connected,
            (true, true) => SiteState::Left,
            (true, false) => SiteState::NotJoined,
        },
        audio: here.iter().any(|p| live(p, TrackSource::Microphone)),
        video: here.iter().any(|p| live(p, TrackSource::Camera)),
        participants: here.iter().map(|p| p.id.clone()).collect(),
        unit,
        name,
        expected,
    }
}

/// Expected sites first (in the given order), then other units present or seen, then
/// participants without a unit.
pub fn roll_call(
    expected: &[Site],
    members: &[ParticipantInfo],
    seen: &BTreeMap<String, String>,
    qualities: &Qualities,
) -> Vec<RollEntry> {
    let by_unit = |u: &str| -> Vec<&ParticipantInfo> {
        members
            .iter()
            .filter(|p| p.unit.as_deref() == Some(u))
            .collect()
    };
    let mut out: Vec<RollEntry> = expected
        .iter()
        .map(|s| {
            entry(
                Some(s.unit.clone()),
                s.name.clone(),
                true,
                &by_unit(&s.unit),
                seen.contains_key(&s.unit),
                qualities,
            )
        })
        .collect();
    let is_expected = |u: &str| expected.iter().any(|s| s.unit == u);
    for (unit, name) in seen.iter().filter(|(u, _)| !is_expected(u)) {
        out.push(entry(
            Some(unit.clone()),
            name.clone(),
            false,
            &by_unit(unit),
            true,
            qualities,
        ));
    }
    for p in members.iter().filter(|p| p.unit.is_none()) {
        out.push(entry(None, p.name.clone(), false, &[p], true, qualities));
    }
    out
}

/// Counts for the chair's summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollCounts {
    pub expected: usize,
    pub connected: usize,
    pub not_joined: usize,
    pub left: usize,
    /// Connected sites whose network is poor.
    #[serde(default)]
    pub poor: usize,
    /// Connected sites whose media connection is down: held for a resume, or never up.
    #[serde(default)]
    pub reconnecting: usize,
    #[serde(default)]
    pub no_media: usize,
}

pub fn counts(entries: &[RollEntry]) -> RollCounts {
    let mut c = RollCounts::default();
    for e in entries {
        c.expected += usize::from(e.expected);
        c.poor += usize::from(e.quality.as_ref().is_some_and(|q| q.poor));
        c.reconnecting += usize::from(e.presence == Some(Presence::Reconnecting));
        c.no_media += usize::from(e.presence == Some(Presence::NoMedia));
        match e.state {
            SiteState::Connected => c.connected += 1,
            SiteState::NotJoined => c.not_joined += 1,
            SiteState::Left => c.left += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{MuteState, PublishedTrack};
    use bridge_sfu::TrackId;
    use bridge_token::Role;

    fn member(
        id: &str,
        unit: Option<&str>,
        sources: &[TrackSource],
        mic_muted: bool,
    ) -> ParticipantInfo {
        ParticipantInfo {
            id: ParticipantId(id.into()),
            name: format!("P {id}"),
            role: Role::Member,
            unit: unit.map(str::to_owned),
            muted: MuteState {
                microphone: mic_muted,
                camera: false,
            },
            tracks: sources
                .iter()
                .map(|s| PublishedTrack {
                    track_id: TrackId(format!("t-{id}-{s:?}")),
                    source: *s,
                })
                .collect(),
            presence: Presence::Connected,
        }
    }

    #[test]
    fn expected_sites_get_their_state_and_extras_follow() {
        let expected = vec![
            Site {
                unit: "07888".into(),
                name: "Phường Dữu Lâu".into(),
            },
            Site {
                unit: "07894".into(),
                name: "Phường Vân Cơ".into(),
            },
            Site {
                unit: "07900".into(),
                name: "Phường Nông Trang".into(),
            },
        ];
        let members = vec![
            member(
                "a",
                Some("07888"),
                &[TrackSource::Microphone, TrackSource::Camera],
                false,
            ),
            member("x", Some("99999"), &[TrackSource::Microphone], true),
            member("op", None, &[], false),
        ];
        let seen: BTreeMap<String, String> = [
            ("07888", "Phường Dữu Lâu"),
            ("07894", "Phường Vân Cơ"),
            ("99999", "Xã khác"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let poor = SiteQuality::new(
            crate::quality::QualityReport {
                loss_pct: 15.0,
                rtt_ms: 90,
                recv_kbps: 200,
                send_kbps: 150,
            },
            None,
        );
        let qualities: Qualities = [(ParticipantId("a".into()), poor.clone())].into();
        let r = roll_call(&expected, &members, &seen, &qualities);
        assert_eq!(r[0].quality.as_ref(), Some(&poor));
        assert_eq!(r[3].quality, None);
        let states: Vec<_> = r
            .iter()
            .map(|e| (e.unit.as_deref(), e.state, e.audio, e.video))
            .collect();
        assert_eq!(
            states,
            vec![
                (Some("07888"), SiteState::Connected, true, true),
                (Some("07894"), SiteState::Left, false, false),
                (Some("07900"), SiteState::NotJoined, false, false),
                (Some("99999"), SiteState::Connected, false, false),
                (None, SiteState::Connected, false, false),
            ]
        );
        assert_eq!(
            counts(&r),
            RollCounts {
                expected: 3,
                connected: 3,
                not_joined: 1,
                left: 1,
                poor: 1,
                reconnecting: 0,
                no_media: 0,
            }
        );
    }
}
