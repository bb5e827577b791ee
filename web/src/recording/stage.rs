//! Who is on the recorded main stage: the active speaker (top of the SFU's ranking)
//! with a live video, held at least [`HOLD`] so a cough does not cut away; with nobody
//! ranked, the first video that appeared. Pure: time is passed in.

use std::collections::HashMap;
use std::time::Duration;

use bridge_sfu::{ParticipantId, TrackId, TrackSource};

/// Shortest time the stage stays with one speaker.
pub const HOLD: Duration = Duration::from_secs(3);
/// A video source silent this long is no longer a candidate for the stage.
const VIDEO_STALE: Duration = Duration::from_secs(2);

/// Who is on the main stage: pure, time passed in.
#[derive(Default)]
pub struct Stage {
    /// The SFU's speaker ranking, loudest first.
    pub ranking: Vec<ParticipantId>,
    /// Each participant's video track and when it last sent (a screen beats a camera).
    videos: HashMap<ParticipantId, (TrackId, TrackSource, Duration)>,
    /// Participants in the order their video first appeared.
    order: Vec<ParticipantId>,
    current: Option<(ParticipantId, Duration)>,
}

impl Stage {
    pub fn saw_video(
        &mut self,
        who: &ParticipantId,
        track: &TrackId,
        source: TrackSource,
        at: Duration,
    ) {
        let keep = self.videos.get(who).is_some_and(|(t, s, last)| {
            t != track
                && *s == TrackSource::Screen
                && source != TrackSource::Screen
                && at.saturating_sub(*last) < VIDEO_STALE
        });
        if !keep {
            self.videos.insert(who.clone(), (track.clone(), source, at));
        }
        if !self.order.contains(who) {
            self.order.push(who.clone());
        }
    }

    fn live(&self, who: &ParticipantId, now: Duration) -> bool {
        self.videos
            .get(who)
            .is_some_and(|(_, _, last)| now.saturating_sub(*last) < VIDEO_STALE)
    }

    /// The track the stage shows at `now`.
    pub fn choose(&mut self, now: Duration) -> Option<TrackId> {
        let speaker = self.ranking.iter().find(|p| self.live(p, now)).cloned();
        let current_live = self
            .current
            .as_ref()
            .is_some_and(|(p, _)| self.live(p, now));
        let held = self
            .current
            .as_ref()
            .is_some_and(|(_, since)| now.saturating_sub(*since) < HOLD);
        let next = match (&self.current, speaker) {
            (Some((cur, _)), Some(s)) if *cur != s && (!held || !current_live) => Some(s),
            (Some(_), _) if current_live => None,
            (_, Some(s)) => Some(s),
            (_, None) => self.order.iter().find(|p| self.live(p, now)).cloned(),
        };
        if let Some(p) = next
            && self.current.as_ref().is_none_or(|(c, _)| *c != p)
        {
            self.current = Some((p, now));
        }
        let (who, _) = self.current.as_ref()?;
        self.videos.get(who).map(|(t, _, _)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    #[test]
    fn stage_holds_a_speaker_three_seconds_then_follows_the_ranking() {
        let mut st = Stage::default();
        let (a, b) = (ParticipantId::from("a"), ParticipantId::from("b"));
        let (ta, tb) = (TrackId::from("ta"), TrackId::from("tb"));
        let see = |st: &mut Stage, t: u64| {
            st.saw_video(&a, &ta, TrackSource::Camera, s(t));
            st.saw_video(&b, &tb, TrackSource::Camera, s(t));
        };
        see(&mut st, 0);
        // Nobody ranked: the first camera seen.
        assert_eq!(st.choose(s(0)), Some(ta.clone()));
        st.ranking = vec![b.clone()];
        see(&mut st, 1);
        assert_eq!(st.choose(s(1)), Some(ta.clone()), "held for 3 s");
        see(&mut st, 3);
        assert_eq!(st.choose(s(3)), Some(tb.clone()));
        st.ranking = vec![a.clone()];
        see(&mut st, 4);
        assert_eq!(st.choose(s(4)), Some(tb.clone()));
        see(&mut st, 6);
        assert_eq!(st.choose(s(6)), Some(ta.clone()));
    }

    #[test]
    fn stage_leaves_a_speaker_whose_video_stopped_at_once() {
        let mut st = Stage::default();
        let (a, b) = (ParticipantId::from("a"), ParticipantId::from("b"));
        st.saw_video(&a, &TrackId::from("ta"), TrackSource::Camera, s(0));
        assert_eq!(st.choose(s(0)), Some(TrackId::from("ta")));
        st.saw_video(&b, &TrackId::from("tb"), TrackSource::Camera, s(3));
        // a left (no video for 3 s), within nobody's hold: b at once.
        assert_eq!(st.choose(s(3)), Some(TrackId::from("tb")));
    }
}
