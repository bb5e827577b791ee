//! One server-mixed Opus stream for an audio-only hall: who is mixed and which mixes
//! a media group needs. Pure, on the caller's clock.
//!
//! A hall whose link is too thin for any picture (its held estimate is under
//! [`AUDIO_ONLY_BPS`], where the layer selection gives it no video anyway), or whose
//! page has said `view off` and shows no video at all, would still receive one Opus
//! stream per microphone it hears (up to three or four, each with its own packet
//! headers, SRTP and receiver state). Mixed, it receives one. The sources are exactly
//! the ones it would be forwarded (`speaker::audible` after the chair's gate, slots.rs),
//! so the floor and the loudest-speaker rules are unchanged.
//!
//! Mix-minus: a hall must not hear itself. The group has one mix of every audible
//! microphone, used by every mixed hall that is not itself audible, plus one mix
//! *without* X for each mixed hall X that is (usually none to two): [`plan`].
//! The decoding happens once per source whatever the number of mixes (mix_live.rs).

use crate::api::{ParticipantId, TrackId};
use crate::layers::AUDIO_ONLY_BPS;
use std::time::{Duration, Instant};

/// Fewer sources to hear than this: separate streams (one stream is one stream
/// either way; mixing it would only add delay and a second encoding).
pub const MIN_MIXED_SOURCES: usize = 2;
/// How long the wish to be mixed must hold before the switch (leaving is at once: a
/// hall that asks for a picture again gets its separate streams at once). It keeps a
/// page whose views change in a burst, or a speaker set that changes for a moment,
/// from switching back and forth.
pub const ENTER_HOLD: Duration = Duration::from_millis(300);

/// Which mix a mixed subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MixKey {
    /// Every audible microphone of the group.
    Everyone,
    /// Every audible microphone but this participant's own.
    Without(ParticipantId),
}

/// One mix to produce: all the fed sources but `exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixSpec {
    pub key: MixKey,
    pub exclude: Vec<TrackId>,
}

/// What a media group's mixing worker does now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MixPlan {
    /// The microphones fed to the worker (every audible one of the group).
    pub feed: Vec<TrackId>,
    /// The mixes to encode, by key.
    pub mixes: Vec<MixSpec>,
    /// Which mix each mixed subscriber hears.
    pub listeners: Vec<(ParticipantId, MixKey)>,
}

/// The mixes a group needs, from its audible microphones (track, owner) and its mixed
/// subscribers: one "everyone" mix if any mixed subscriber owns none of them, one mix
/// without X for each mixed subscriber X that owns one. No mixed subscriber: nothing.
pub fn plan(audible: &[(TrackId, ParticipantId)], mixed: &[ParticipantId]) -> MixPlan {
    if mixed.is_empty() {
        return MixPlan::default();
    }
    let mut mixes: Vec<MixSpec> = Vec::new();
    let mut listeners = Vec::new();
    for who in mixed {
        let own: Vec<TrackId> = audible
            .iter()
            .filter(|(_, owner)| owner == who)
            .map(|(t, _)| t.clone())
            .collect();
        let key = if own.is_empty() {
            MixKey::Everyone
        } else {
            MixKey::Without(who.clone())
        };
        if !mixes.iter().any(|m| m.key == key) {
            mixes.push(MixSpec {
                key: key.clone(),
                exclude: own,
            });
        }
        listeners.push((who.clone(), key));
    }
    mixes.sort_by(|a, b| a.key.cmp(&b.key));
    listeners.sort();
    let mut feed: Vec<TrackId> = audible.iter().map(|(t, _)| t.clone()).collect();
    feed.sort();
    feed.dedup();
    MixPlan {
        feed,
        mixes,
        listeners,
    }
}

/// Whether a subscriber is in audio-only mode: its held estimate (None: its client
/// reports none) is under the audio-only threshold of the layer selection, or it has
/// said `view off` (`declined`) and shows no video of the group (`shows_video`).
/// A page that never sent a view is not taken for audio-only: a hall that joined
/// with `default_view: off` and has not laid out its screen yet still wants its
/// streams apart.
pub fn audio_only(estimate: Option<u64>, declined: bool, shows_video: bool) -> bool {
    estimate.is_some_and(|e| e < AUDIO_ONLY_BPS) || (declined && !shows_video)
}

/// Whether a subscriber should be mixed now, if it could: audio-only, and more than
/// one source to hear.
pub fn wants_mix(audio_only: bool, sources_to_hear: usize) -> bool {
    audio_only && sources_to_hear >= MIN_MIXED_SOURCES
}

/// Per subscriber: into mixed mode once the wish has held [`ENTER_HOLD`], out at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixHold {
    on: bool,
    wanted_since: Option<Instant>,
}

impl MixHold {
    /// The mode at `now`, given whether it is wanted now.
    pub fn update(&mut self, want: bool, now: Instant) -> bool {
        if !want {
            *self = MixHold::default();
        } else if !self.on {
            let since = *self.wanted_since.get_or_insert(now);
            self.on = now.saturating_duration_since(since) >= ENTER_HOLD;
        }
        self.on
    }
}

/// The RFC 6464 level (-dBov, 0 loudest, 127 silence) of a 16-bit PCM frame.
pub fn level_dbov(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return 127;
    }
    let mean_square = pcm
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / pcm.len() as f64;
    let rms = mean_square.sqrt() / 32768.0;
    if rms <= 0.0 {
        return 127;
    }
    (-20.0 * rms.log10()).round().clamp(0.0, 127.0) as u8
}

#[cfg(test)]
#[path = "mix_tests.rs"]
mod tests;
