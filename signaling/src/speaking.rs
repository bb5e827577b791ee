//! How long one participant spoke, from the media plane's speaker rankings: the time it
//! was among the room's ranked speakers (those above the speech floor, loudest three).
//! Pure, on the caller's clock; the driver keeps one per session for attendance.

use bridge_sfu::ParticipantId;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct SpeakingClock {
    since: Option<Instant>,
    total: Duration,
}

impl SpeakingClock {
    /// A new ranking arrived for the room of `me`.
    pub fn ranking(&mut self, me: &ParticipantId, ordered: &[ParticipantId], now: Instant) {
        let speaking = ordered.contains(me);
        match (self.since, speaking) {
            (None, true) => self.since = Some(now),
            (Some(start), false) => {
                self.total += now.saturating_duration_since(start);
                self.since = None;
            }
            _ => {}
        }
    }

    /// Total speaking time up to `now` (a period still running counts).
    pub fn total(&self, now: Instant) -> Duration {
        self.total
            + self
                .since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_time_in_the_ranking() {
        let t0 = Instant::now();
        let me = ParticipantId::from("p-me");
        let other = ParticipantId::from("p-other");
        let mut c = SpeakingClock::default();
        c.ranking(&me, std::slice::from_ref(&other), t0);
        c.ranking(
            &me,
            &[other.clone(), me.clone()],
            t0 + Duration::from_secs(2),
        );
        // Reordering while still ranked does not restart the period.
        c.ranking(
            &me,
            &[me.clone(), other.clone()],
            t0 + Duration::from_secs(3),
        );
        c.ranking(&me, &[], t0 + Duration::from_secs(5));
        assert_eq!(c.total(t0 + Duration::from_secs(9)), Duration::from_secs(3));
        c.ranking(&me, std::slice::from_ref(&me), t0 + Duration::from_secs(10));
        assert_eq!(
            c.total(t0 + Duration::from_secs(11)),
            Duration::from_secs(4)
        );
    }
}
