//! Who hears whom, as the tests of chairing and linked rooms check it: a tone found in
//! the decoded audio, or no audio packet at all while the speaker keeps sending.

use crate::client::{Client, hears_tone};
use crate::recv::Kind;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Audio packets `listener` has received from `speaker`.
pub fn audio_packets(listener: &Client, speaker: &Client) -> u64 {
    listener
        .stream(&speaker.id, Kind::Audio)
        .map_or(0, |s| s.packets)
}

/// `listener` hears `speaker`'s tone of `freq` within 30 s.
pub async fn assert_heard(listener: &Client, speaker: &Client, freq: f32) {
    let found = hears_tone(listener, speaker, freq, WAIT).await;
    assert!(
        found.is_some(),
        "{} does not hear {}'s {freq} Hz tone: {:?}",
        listener.id,
        speaker.id,
        listener.tone(&speaker.id, 0.5)
    );
}

/// `speaker` keeps sending while `listener` receives none of its audio for 2 s (after
/// 0.7 s for packets already on their way when the change happened).
pub async fn assert_not_heard(listener: &Client, speaker: &Client) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (before, sent) = (audio_packets(listener, speaker), speaker.sent().0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        speaker.sent().0 > sent + 50,
        "{} kept sending audio",
        speaker.id
    );
    assert_eq!(
        audio_packets(listener, speaker),
        before,
        "{} still receives {}'s audio",
        listener.id,
        speaker.id
    );
}
