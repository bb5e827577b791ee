//! What the client knows of the room besides media: which source each m-line of its
//! subscribe connection carries now (the mid map, from `subscribe_offer.tracks` and
//! `slots`), and which tracks the room publishes (from `joined`, `participant_joined`,
//! `track_published`, ...), which it may send `view`s for whether it receives them or not.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What one m-line of the subscribe connection carries now.
#[derive(Debug)]
pub(crate) struct Carried {
    pub(crate) participant: String,
    pub(crate) source: String,
    /// The published track and the mid, as one key: a stream's sequence numbers start
    /// afresh when either changes (see `Received::record`).
    pub(crate) key: String,
}

/// mid -> what it carries. Replaced whole by each applied `subscribe_offer` (its
/// `tracks`) and by each `slots` message; an m-line it does not list is idle.
#[derive(Debug, Default)]
pub(crate) struct MidMap {
    by_mid: HashMap<String, Arc<Carried>>,
    /// The entries as the server sent them, for [`super::Client::subscribed_tracks`].
    pub(crate) raw: Vec<Value>,
}

impl MidMap {
    pub(crate) fn from_tracks(tracks: Vec<Value>) -> Self {
        let by_mid = tracks
            .iter()
            .filter_map(|t| {
                let mid = t["mid"].as_str()?;
                let track_id = t["track_id"].as_str().unwrap_or_default();
                Some((
                    mid.to_owned(),
                    Arc::new(Carried {
                        participant: t["participant_id"].as_str()?.to_owned(),
                        source: t["source"].as_str().unwrap_or_default().to_owned(),
                        key: format!("{track_id}@{mid}"),
                    }),
                ))
            })
            .collect();
        MidMap {
            by_mid,
            raw: tracks,
        }
    }

    pub(crate) fn get(&self, mid: &str) -> Option<Arc<Carried>> {
        self.by_mid.get(mid).cloned()
    }

    /// The m-line that carries `participant`'s video now: its camera, else its screen.
    pub(crate) fn video_mid_of(&self, participant: &str) -> Option<String> {
        let of = |source: &str| {
            self.by_mid
                .iter()
                .find(|(_, c)| c.participant == participant && c.source == source)
                .map(|(m, _)| m.clone())
        };
        of("camera").or_else(|| of("screen"))
    }
}

/// A track published in the room (or a room linked with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTrack {
    pub track_id: String,
    pub participant_id: String,
    /// `microphone`, `camera` or `screen`.
    pub source: String,
}

/// The room as the signaling messages describe it.
#[derive(Debug, Default)]
pub(crate) struct Room {
    /// By track id.
    pub(crate) tracks: BTreeMap<String, PublishedTrack>,
    pub(crate) floor_holder: Option<String>,
}

impl Room {
    /// The room at `joined`: everyone's published tracks (ours too) and the floor.
    pub(crate) fn from_joined(joined: &Value) -> Self {
        let mut room = Room::default();
        let me = std::iter::once(&joined["participant"]);
        let others = joined["participants"].as_array().into_iter().flatten();
        for p in me.chain(others) {
            room.add_participant(p);
        }
        room.floor_holder = joined["floor"]["holder"].as_str().map(str::to_owned);
        room
    }

    fn add_participant(&mut self, p: &Value) {
        let Some(id) = p["id"].as_str() else { return };
        for t in p["tracks"].as_array().into_iter().flatten() {
            self.add(t["track_id"].as_str(), Some(id), t["source"].as_str());
        }
    }

    fn add(&mut self, track: Option<&str>, participant: Option<&str>, source: Option<&str>) {
        if let (Some(track), Some(participant), Some(source)) = (track, participant, source) {
            self.tracks.insert(
                track.to_owned(),
                PublishedTrack {
                    track_id: track.to_owned(),
                    participant_id: participant.to_owned(),
                    source: source.to_owned(),
                },
            );
        }
    }

    /// Applies a server message; true if it changed the room.
    pub(crate) fn apply(&mut self, msg: &Value) -> bool {
        match msg["type"].as_str().unwrap_or_default() {
            "participant_joined" => {
                let before = self.tracks.len();
                self.add_participant(&msg["participant"]);
                self.tracks.len() != before
            }
            "participant_left" => {
                let before = self.tracks.len();
                let gone = msg["participant_id"].as_str();
                self.tracks
                    .retain(|_, t| Some(t.participant_id.as_str()) != gone);
                if self
                    .floor_holder
                    .as_deref()
                    .is_some_and(|h| Some(h) == gone)
                {
                    self.floor_holder = None;
                    return true;
                }
                self.tracks.len() != before
            }
            "track_published" => {
                let known = msg["track_id"]
                    .as_str()
                    .is_some_and(|t| self.tracks.contains_key(t));
                self.add(
                    msg["track_id"].as_str(),
                    msg["participant_id"].as_str(),
                    msg["source"].as_str(),
                );
                !known
            }
            "track_unpublished" => msg["track_id"]
                .as_str()
                .is_some_and(|t| self.tracks.remove(t).is_some()),
            "floor" => {
                let holder = msg["holder"].as_str().map(str::to_owned);
                let changed = holder != self.floor_holder;
                self.floor_holder = holder;
                changed
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_mid_map_finds_a_participants_video_and_keys_by_track_and_mid() {
        let m = MidMap::from_tracks(vec![
            json!({"track_id": "a-0", "participant_id": "a", "source": "microphone", "mid": "0"}),
            json!({"track_id": "a-1", "participant_id": "a", "source": "camera", "mid": "3"}),
            json!({"track_id": "b-2", "participant_id": "b", "source": "screen", "mid": "4"}),
        ]);
        assert_eq!(m.video_mid_of("a").as_deref(), Some("3"));
        assert_eq!(m.video_mid_of("b").as_deref(), Some("4"));
        assert_eq!(m.video_mid_of("c"), None);
        assert_eq!(m.get("3").unwrap().key, "a-1@3");
        assert!(m.get("1").is_none());
    }

    #[test]
    fn the_room_follows_joins_publications_and_the_floor() {
        let mut r = Room::from_joined(&json!({
            "participant": {"id": "me", "tracks": []},
            "participants": [{"id": "a", "tracks": [{"track_id": "a-1", "source": "camera"}]}],
            "floor": {"holder": null},
        }));
        assert_eq!(r.tracks.len(), 1);
        assert!(
            r.apply(&json!({"type": "track_published", "participant_id": "b",
            "track_id": "b-1", "source": "camera"}))
        );
        assert!(
            !r.apply(&json!({"type": "track_published", "participant_id": "b",
            "track_id": "b-1", "source": "camera"}))
        );
        assert!(r.apply(&json!({"type": "floor", "holder": "b"})));
        assert_eq!(r.floor_holder.as_deref(), Some("b"));
        assert!(r.apply(&json!({"type": "participant_left", "participant_id": "b"})));
        assert_eq!(r.floor_holder, None);
        assert!(
            r.apply(&json!({"type": "track_unpublished", "participant_id": "a",
            "track_id": "a-1", "source": "camera"}))
        );
        assert!(r.tracks.is_empty());
    }
}
