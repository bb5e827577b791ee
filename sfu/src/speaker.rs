//! Active speaker detection from the audio-level header extension (RFC 6464), pure and
//! on the caller's clock. Levels are averaged over windows of 300 ms; the ranking is
//! recomputed at the end of each window. A new loudest speaker must lead for two windows
//! in a row (≈0.6 s) before it takes over, so a cough or a door does not move the main
//! stage, while a louder voice does within a second.

use crate::api::ParticipantId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_millis(300);
/// How many speakers the ranking keeps (and the clients are told of).
pub const TOP: usize = 3;
/// Average loudness (0 = silence … 127 = 0 dBov) under which nobody is speaking.
const SPEECH_FLOOR: f32 = 40.0;
/// Windows a challenger must lead before it becomes the active speaker.
const LEAD_WINDOWS: u32 = 2;

#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    sum: u32,
    n: u32,
}

#[derive(Debug)]
pub struct SpeakerDetector {
    window_start: Option<Instant>,
    acc: HashMap<ParticipantId, Acc>,
    ranking: Vec<ParticipantId>,
    challenger: Option<(ParticipantId, u32)>,
}

impl Default for SpeakerDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SpeakerDetector {
    pub fn new() -> Self {
        SpeakerDetector {
            window_start: None,
            acc: HashMap::new(),
            ranking: Vec::new(),
            challenger: None,
        }
    }

    /// One audio packet's level: RFC 6464's value, 0 = loudest (0 dBov), 127 = silence.
    /// Returns the new ranking when a window closed and the ranking changed.
    pub fn observe(
        &mut self,
        who: &ParticipantId,
        level_dbov: u8,
        now: Instant,
    ) -> Option<Vec<ParticipantId>> {
        let changed = self.tick(now);
        let a = self.acc.entry(who.clone()).or_default();
        a.sum += u32::from(127 - level_dbov.min(127));
        a.n += 1;
        changed
    }

    /// Ends the window if it is over; returns the ranking if it changed.
    pub fn tick(&mut self, now: Instant) -> Option<Vec<ParticipantId>> {
        let start = *self.window_start.get_or_insert(now);
        if now.saturating_duration_since(start) < WINDOW {
            return None;
        }
        self.window_start = Some(now);
        let mut loud: Vec<(ParticipantId, f32)> = self
            .acc
            .drain()
            .map(|(p, a)| (p, a.sum as f32 / a.n.max(1) as f32))
            .filter(|(_, avg)| *avg >= SPEECH_FLOOR)
            .collect();
        loud.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.0.cmp(&b.0.0)));
        let mut next: Vec<ParticipantId> = loud.into_iter().take(TOP).map(|(p, _)| p).collect();
        // Hysteresis on the first place only: the others may reorder freely.
        if let (Some(current), Some(leader)) = (self.ranking.first(), next.first().cloned())
            && &leader != current
            && next.contains(current)
        {
            let windows = match &self.challenger {
                Some((c, n)) if *c == leader => n + 1,
                _ => 1,
            };
            if windows < LEAD_WINDOWS {
                self.challenger = Some((leader, windows));
                let pos = next.iter().position(|p| p == current).unwrap_or(0);
                next.swap(0, pos);
            } else {
                self.challenger = None;
            }
        } else {
            self.challenger = None;
        }
        if next.is_empty() || next == self.ranking {
            return None;
        }
        self.ranking = next.clone();
        Some(next)
    }

    pub fn ranking(&self) -> &[ParticipantId] {
        &self.ranking
    }

    /// A participant left: it cannot stay ranked.
    pub fn forget(&mut self, who: &ParticipantId) -> Option<Vec<ParticipantId>> {
        self.acc.remove(who);
        let before = self.ranking.len();
        self.ranking.retain(|p| p != who);
        (self.ranking.len() != before).then(|| self.ranking.clone())
    }
}

/// Whether a subscriber receives this microphone: at most the [`TOP`] loudest of a
/// room are forwarded, so a hall on a thin link gets three audio streams, not two
/// hundred. Composes after the chair's gate (a closed microphone never gets here):
/// when no more than [`TOP`] + 1 microphones are open (a small meeting, or a moderated
/// room: the chair and the floor holder), everyone hears all the others, ranked or
/// not. (A subscriber that is itself ranked then hears two others.) A microphone without the audio-level
/// extension cannot be ranked and is never held back.
pub fn audible(
    owner: &ParticipantId,
    ranking: &[ParticipantId],
    open_mics: usize,
    has_level: bool,
) -> bool {
    !has_level || open_mics <= TOP + 1 || ranking.contains(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParticipantId {
        ParticipantId(s.into())
    }

    /// Feeds 20 ms audio packets from every (participant, level) for `ms`.
    fn talk(
        d: &mut SpeakerDetector,
        t: &mut Instant,
        ms: u64,
        levels: &[(&str, u8)],
    ) -> Vec<Vec<ParticipantId>> {
        let mut changes = Vec::new();
        for _ in 0..ms / 20 {
            *t += Duration::from_millis(20);
            for (who, level) in levels {
                if let Some(r) = d.observe(&p(who), *level, *t) {
                    changes.push(r);
                }
            }
        }
        changes
    }

    #[test]
    fn a_louder_voice_takes_over_within_a_second_and_a_cough_does_not() {
        let mut d = SpeakerDetector::new();
        let mut t = Instant::now();
        talk(&mut d, &mut t, 1000, &[("a", 30), ("b", 70), ("c", 127)]);
        assert_eq!(d.ranking(), &[p("a"), p("b")], "silence is not ranked");

        // B coughs for 100 ms: A stays first.
        talk(&mut d, &mut t, 100, &[("a", 30), ("b", 5)]);
        talk(&mut d, &mut t, 600, &[("a", 30), ("b", 70)]);
        assert_eq!(d.ranking()[0], p("a"));

        // B speaks louder than A from now on: first within one second.
        let started = t;
        let mut moved_at = None;
        for _ in 0..50 {
            talk(&mut d, &mut t, 20, &[("a", 40), ("b", 10)]);
            if d.ranking()[0] == p("b") {
                moved_at = Some(t - started);
                break;
            }
        }
        let moved = moved_at.expect("B became the active speaker");
        assert!(moved <= Duration::from_secs(1), "took {moved:?}");
        assert!(moved >= WINDOW, "not on a single window: {moved:?}");
    }

    #[test]
    fn only_the_three_loudest_are_forwarded_in_a_large_room() {
        let ranking = [p("a"), p("b"), p("c")];
        assert!(audible(&p("b"), &ranking, 30, true));
        assert!(!audible(&p("d"), &ranking, 30, true));
        assert!(
            audible(&p("d"), &ranking, 3, true),
            "few open microphones: all heard"
        );
        assert!(
            audible(&p("d"), &ranking, 30, false),
            "unrankable: not held back"
        );
    }

    #[test]
    fn at_most_three_are_ranked_and_a_leaver_is_dropped() {
        let mut d = SpeakerDetector::new();
        let mut t = Instant::now();
        talk(
            &mut d,
            &mut t,
            700,
            &[("a", 10), ("b", 20), ("c", 30), ("d", 40)],
        );
        assert_eq!(d.ranking(), &[p("a"), p("b"), p("c")]);
        assert_eq!(d.forget(&p("b")), Some(vec![p("a"), p("c")]));
        assert_eq!(d.forget(&p("zz")), None);
    }
}
