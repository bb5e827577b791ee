//! TEMPORARY stand-in for `bridge_sfu::{Sfu, SfuHandle}` until the media plane lands:
//! binds the real sockets so addresses are honest, refuses media negotiation.

use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RoomId, SfuConfig, SfuError, SfuEvent, SfuStats, TrackSpec,
};
use bridge_signaling::{BoxFuture, MediaPlane};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

pub struct Sfu;

#[derive(Clone)]
pub struct SfuHandle {
    udp: SocketAddr,
    tcp: Option<SocketAddr>,
    _sockets: Arc<(tokio::net::UdpSocket, Option<tokio::net::TcpListener>)>,
}

impl Sfu {
    pub async fn start(config: SfuConfig) -> std::io::Result<SfuHandle> {
        let udp = tokio::net::UdpSocket::bind(config.udp_bind).await?;
        let tcp = match config.tcp_bind {
            Some(a) => Some(tokio::net::TcpListener::bind(a).await?),
            None => None,
        };
        Ok(SfuHandle {
            udp: udp.local_addr()?,
            tcp: tcp.as_ref().map(|t| t.local_addr()).transpose()?,
            _sockets: Arc::new((udp, tcp)),
        })
    }
}

impl SfuHandle {
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
    }
    pub async fn shutdown(&self) {}
}

impl MediaPlane for SfuHandle {
    fn join(
        &self,
        _: RoomId,
        _: ParticipantId,
        _: UnboundedSender<SfuEvent>,
    ) -> BoxFuture<'_, Result<(), SfuError>> {
        Box::pin(async { Ok(()) })
    }
    fn publish_offer<'a>(
        &'a self,
        _: &'a ParticipantId,
        _: String,
        _: Vec<TrackSpec>,
    ) -> BoxFuture<'a, Result<String, SfuError>> {
        Box::pin(async { Err(SfuError::Engine("media plane not built yet".into())) })
    }
    fn subscribe_answer<'a>(
        &'a self,
        _: &'a ParticipantId,
        _: String,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(async { Err(SfuError::UnexpectedAnswer) })
    }
    fn remote_candidate<'a>(
        &'a self,
        _: &'a ParticipantId,
        _: PcKind,
        _: IceCandidate,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        Box::pin(async { Ok(()) })
    }
    fn leave<'a>(&'a self, _: &'a ParticipantId) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn stats(&self) -> BoxFuture<'_, SfuStats> {
        Box::pin(async { SfuStats::default() })
    }
}
