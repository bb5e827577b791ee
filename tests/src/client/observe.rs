//! What a test reads off a client: the server's messages, what it received and
//! sent, its connections' states. Also the few messages a test sends by hand.

use super::*;

impl Client {
    pub fn sender(&self) -> &SignalSender {
        &self.sender
    }

    /// Every server message so far (after `joined`, pongs excluded).
    pub fn events(&self) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// The `error` messages the server sent (without copying the other events).
    pub fn errors(&self) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .map(|e| e.iter().filter(|v| v["type"] == "error").cloned().collect())
            .unwrap_or_default()
    }

    /// Client-side failures (failed negotiation steps).
    pub fn failures(&self) -> Vec<String> {
        self.shared
            .failures
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    pub fn pongs(&self) -> u64 {
        self.shared.pongs.load(Ordering::Relaxed)
    }

    pub fn keyframe_requests(&self) -> u64 {
        self.shared.keyframe_requests.load(Ordering::Relaxed)
    }

    pub fn subscribe_offers(&self) -> u64 {
        self.shared.subscribe_offers.load(Ordering::Relaxed)
    }

    /// The close code if the server closed the socket.
    pub fn closed_by_server(&self) -> Option<Option<u16>> {
        self.shared.closed.lock().ok().and_then(|c| *c)
    }

    pub fn publish_state(&self) -> Option<RTCPeerConnectionState> {
        self.shared.pub_state.lock().ok().and_then(|s| *s)
    }

    pub fn subscribe_state(&self) -> Option<RTCPeerConnectionState> {
        self.shared.sub_state.lock().ok().and_then(|s| *s)
    }

    /// What the subscribe connection's m-lines carry now, as the server listed it
    /// (`{track_id, participant_id, source, mid}`): the `tracks` of the latest applied
    /// subscribe offer, or of a later `slots` message.
    pub fn subscribed_tracks(&self) -> Vec<Value> {
        self.shared
            .mids
            .lock()
            .map(|m| m.raw.clone())
            .unwrap_or_default()
    }

    /// `slots` messages applied so far.
    pub fn slots_messages(&self) -> u64 {
        self.shared.slots_messages.load(Ordering::Relaxed)
    }

    /// Packets that arrived on an m-line the mid map did not list at the time
    /// (credited to nobody): (audio, video).
    pub fn unattributed(&self) -> (u64, u64) {
        self.shared
            .received
            .lock()
            .map(|r| r.unattributed())
            .unwrap_or_default()
    }

    /// Every track published in the room (and rooms linked with it), ours included,
    /// whether we receive it or not: the tracks a `view` may name.
    pub fn published_tracks(&self) -> Vec<PublishedTrack> {
        self.shared
            .room
            .lock()
            .map(|r| r.tracks.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The track id of `participant`'s published `source` (`camera`, `microphone`,
    /// `screen`).
    pub fn published_track_of(&self, participant: &str, source: &str) -> Option<String> {
        self.shared.room.lock().ok().and_then(|r| {
            r.tracks
                .values()
                .find(|t| t.participant_id == participant && t.source == source)
                .map(|t| t.track_id.clone())
        })
    }

    /// Who holds the floor (from `joined.floor` and `floor` messages).
    pub fn floor_holder(&self) -> Option<String> {
        self.shared
            .room
            .lock()
            .ok()
            .and_then(|r| r.floor_holder.clone())
    }

    /// Bumped whenever the published tracks or the floor holder change, so a poller can
    /// tell cheaply that it has something to recompute.
    pub fn room_version(&self) -> u64 {
        self.shared.room_version.load(Ordering::Relaxed)
    }

    pub fn stream(&self, participant: &str, kind: Kind) -> Option<StreamSnapshot> {
        self.shared
            .received
            .lock()
            .ok()?
            .snapshot(participant, kind)
    }

    /// The dominant tone in the last `seconds` of `participant`'s audio.
    pub fn tone(&self, participant: &str, seconds: f32) -> Option<crate::media::ToneReport> {
        self.shared.received.lock().ok()?.tone(participant, seconds)
    }

    pub fn share_at(&self, participant: &str, freq: f32, seconds: f32) -> Option<f32> {
        self.shared
            .received
            .lock()
            .ok()?
            .share_at(participant, freq, seconds)
    }

    /// Participants we received any media from.
    pub fn senders_seen(&self) -> Vec<String> {
        self.shared
            .received
            .lock()
            .map(|r| r.participants())
            .unwrap_or_default()
    }

    pub fn first_video_at(&self) -> Option<Instant> {
        self.shared.received.lock().ok()?.first_video_at()
    }

    /// Sends a picture loss indication for `participant`'s video, as a decoder would: on
    /// the m-line that carries it now (per the mid map).
    pub async fn request_keyframe(&self, participant: &str) -> anyhow::Result<()> {
        let mid = self
            .shared
            .mids
            .lock()
            .ok()
            .and_then(|m| m.video_mid_of(participant))
            .with_context(|| format!("no m-line carries video from {participant}"))?;
        let track = self
            .shared
            .video_tracks
            .lock()
            .ok()
            .and_then(|v| v.get(&mid).cloned())
            .with_context(|| format!("no video yet on mid {mid} (from {participant})"))?;
        let ssrc = track.ssrcs().await.first().copied().context("no SSRC")?;
        let pli = rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        };
        track.write_rtcp(vec![Box::new(pli)]).await?;
        Ok(())
    }

    /// One-way delays (µs) of stamped video frames from `participant`, since the last
    /// `reset_loss`.
    pub fn delays_us(&self, participant: &str) -> Vec<u32> {
        self.shared
            .received
            .lock()
            .map(|r| r.delays_us(participant))
            .unwrap_or_default()
    }

    pub fn reset_loss(&self) {
        if let Ok(mut r) = self.shared.received.lock() {
            r.reset_loss();
        }
    }

    /// Packets received from `participant`, audio + video.
    pub fn packets_from(&self, participant: &str) -> u64 {
        [Kind::Audio, Kind::Video]
            .iter()
            .filter_map(|k| self.stream(participant, *k))
            .map(|s| s.packets)
            .sum()
    }

    /// Packets sent so far (audio, video).
    pub fn sent(&self) -> (u64, u64) {
        self.publisher.as_ref().map(|p| p.sent()).unwrap_or((0, 0))
    }

    pub fn send_json(&self, v: &Value) -> anyhow::Result<()> {
        self.sender.send_json(v)
    }

    /// Tells the server how we show the video `track` (docs/protocol.md, `view`): any
    /// video track published in the room, received or not.
    pub fn view(&self, track: &str, quality: Quality) -> anyhow::Result<()> {
        self.sender
            .send_json(&json!({"type": "view", "track": track, "quality": quality.as_str()}))
    }

    /// The track id of `participant`'s camera: as published in the room, else as an
    /// m-line we receive carries it.
    pub fn video_track_of(&self, participant: &str) -> Option<String> {
        self.published_track_of(participant, "camera").or_else(|| {
            self.subscribed_tracks()
                .iter()
                .find(|t| t["participant_id"] == participant && t["source"] == "camera")
                .and_then(|t| t["track_id"].as_str())
                .map(str::to_owned)
        })
    }

    /// Our simulcast encodings the server has paused (lowest first), and how many
    /// `layers` messages came.
    pub fn layers_paused(&self) -> ([bool; 3], u64) {
        let p = self
            .shared
            .layers_paused
            .lock()
            .map(|p| *p)
            .unwrap_or_default();
        (p, self.shared.layers_messages.load(Ordering::Relaxed))
    }

    /// The largest `subscribe_answer` message sent so far, in bytes.
    pub fn largest_subscribe_answer(&self) -> u64 {
        self.shared.largest_answer.load(Ordering::Relaxed)
    }

    /// The latest `active_speakers` ranking (loudest first), empty before the first.
    pub fn active_speakers(&self) -> Vec<String> {
        self.shared
            .speakers
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}
