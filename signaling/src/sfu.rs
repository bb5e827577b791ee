//! The real media plane behind [`MediaPlane`].

use crate::media::{BoxFuture, MediaPlane};
use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RoomId, SfuError, SfuEvent, SfuHandle, SfuStats, TrackSpec,
};
use tokio::sync::mpsc::UnboundedSender;

impl MediaPlane for SfuHandle {
    fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        events: UnboundedSender<SfuEvent>,
        default_view: bridge_sfu::View,
    ) -> BoxFuture<'_, Result<(), SfuError>> {
        Box::pin(SfuHandle::join_viewing(
            self,
            room,
            participant,
            events,
            default_view,
        ))
    }

    fn publish_offer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
    ) -> BoxFuture<'a, Result<String, SfuError>> {
        Box::pin(SfuHandle::publish_offer(self, participant, sdp, tracks))
    }

    fn subscribe_answer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        sdp: String,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::subscribe_answer(self, participant, sdp))
    }

    fn restart_ice<'a>(
        &'a self,
        participant: &'a ParticipantId,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::restart_ice(self, participant))
    }

    fn remote_candidate<'a>(
        &'a self,
        participant: &'a ParticipantId,
        pc: PcKind,
        candidate: IceCandidate,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::remote_candidate(
            self,
            participant,
            pc,
            candidate,
        ))
    }

    fn leave<'a>(&'a self, participant: &'a ParticipantId) -> BoxFuture<'a, ()> {
        Box::pin(SfuHandle::leave(self, participant))
    }

    fn set_audio_allowed<'a>(
        &'a self,
        participant: &'a ParticipantId,
        allowed: bool,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::set_audio_allowed(self, participant, allowed))
    }

    fn set_view<'a>(
        &'a self,
        participant: &'a ParticipantId,
        track: &'a bridge_sfu::TrackId,
        view: bridge_sfu::View,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::set_view(self, participant, track, view))
    }

    fn link<'a>(
        &'a self,
        child: &'a RoomId,
        parent: &'a RoomId,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(SfuHandle::link(self, child, parent))
    }

    fn unlink<'a>(&'a self, child: &'a RoomId) -> BoxFuture<'a, Result<bool, SfuError>> {
        Box::pin(SfuHandle::unlink(self, child))
    }

    fn stats(&self) -> BoxFuture<'_, SfuStats> {
        Box::pin(SfuHandle::stats(self))
    }

    fn receiving<'a>(
        &'a self,
        participant: &'a ParticipantId,
    ) -> BoxFuture<'a, Option<bridge_sfu::SubscriberStats>> {
        Box::pin(async move { SfuHandle::receiving(self, participant).await.ok().flatten() })
    }
}
