//! What signaling needs from the media plane. `bridge_sfu::SfuHandle` implements it;
//! tests use a fake, so the protocol can be tested without WebRTC.

use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RoomId, SfuError, SfuEvent, SfuStats, TrackSpec,
};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc::UnboundedSender;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait MediaPlane: Send + Sync + 'static {
    fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        events: UnboundedSender<SfuEvent>,
        default_view: bridge_sfu::View,
    ) -> BoxFuture<'_, Result<(), SfuError>>;

    fn publish_offer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
    ) -> BoxFuture<'a, Result<String, SfuError>>;

    fn subscribe_answer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        sdp: String,
    ) -> BoxFuture<'a, Result<(), SfuError>>;

    fn remote_candidate<'a>(
        &'a self,
        participant: &'a ParticipantId,
        pc: PcKind,
        candidate: IceCandidate,
    ) -> BoxFuture<'a, Result<(), SfuError>>;

    fn leave<'a>(&'a self, participant: &'a ParticipantId) -> BoxFuture<'a, ()>;

    /// Restarts ICE on the participant's subscribe connection (a `SubscribeOffer`
    /// with new credentials follows). A media plane without ICE has nothing to do.
    fn restart_ice<'a>(
        &'a self,
        _participant: &'a ParticipantId,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(async { Ok(()) })
    }

    /// Opens or closes the participant's microphone for the whole room (chairing).
    fn set_audio_allowed<'a>(
        &'a self,
        participant: &'a ParticipantId,
        allowed: bool,
    ) -> BoxFuture<'a, Result<(), SfuError>>;

    /// How the participant shows a video it receives (simulcast layer choice). A media
    /// plane without simulcast has nothing to choose.
    fn set_view<'a>(
        &'a self,
        _participant: &'a ParticipantId,
        _track: &'a bridge_sfu::TrackId,
        _view: bridge_sfu::View,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(async { Ok(()) })
    }

    /// Links `child` into `parent`'s conference: their participants receive each
    /// other's media (refused: a cycle, or too deep).
    fn link<'a>(
        &'a self,
        child: &'a RoomId,
        parent: &'a RoomId,
    ) -> BoxFuture<'a, Result<(), SfuError>>;

    /// Undoes a link; `false` when `child` was not linked.
    fn unlink<'a>(&'a self, child: &'a RoomId) -> BoxFuture<'a, Result<bool, SfuError>>;

    fn stats(&self) -> BoxFuture<'_, SfuStats>;

    /// What one participant receives (estimate, layer of each video), for its network
    /// quality; `None` when nothing is known (not subscribed yet, or no simulcast).
    fn receiving<'a>(
        &'a self,
        _participant: &'a ParticipantId,
    ) -> BoxFuture<'a, Option<bridge_sfu::SubscriberStats>> {
        Box::pin(async { None })
    }
}
