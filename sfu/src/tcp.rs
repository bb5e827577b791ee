//! ICE-TCP (RFC 6544, passive side): one listener, RFC 4571 framing. Each TCP
//! connection is a small task that hands whole frames to the media loop and writes
//! what the loop sends back; the loop treats a frame like a datagram.

use bytes::BytesMut;
use rtc::shared::tcp_framing::TcpFrameDecoder;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// What the TCP connection tasks tell the loop.
pub enum TcpEvent {
    /// A connection from this remote address arrived on this local port.
    Opened(SocketAddr, u16, mpsc::UnboundedSender<Vec<u8>>),
    Frame(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

/// At most this many ICE-TCP connections at once; more are refused.
const MAX_TCP_CONNECTIONS: usize = 2048;
/// A TCP connection silent for this long is closed (also sheds junk connections).
const TCP_IDLE: Duration = Duration::from_secs(30);

pub async fn accept_tcp(listener: TcpListener, events: mpsc::UnboundedSender<TcpEvent>) {
    let local_port = listener.local_addr().map_or(0, |a| a.port());
    let open = std::sync::Arc::new(());
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Each task holds a clone: the count of clones is the count of connections.
                if std::sync::Arc::strong_count(&open) > MAX_TCP_CONNECTIONS {
                    debug!(%peer, "too many ICE-TCP connections; refused");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let token = open.clone();
                let events = events.clone();
                tokio::spawn(async move {
                    serve_tcp(stream, peer, local_port, events).await;
                    drop(token);
                });
            }
            Err(e) => {
                warn!(error = %e, "ICE-TCP accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves a connection that another listener accepted (see `SfuHandle::accept_ice_tcp`).
pub fn spawn_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    local_port: u16,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let _ = stream.set_nodelay(true);
    tokio::spawn(serve_tcp(stream, peer, local_port, events));
}

/// One ICE-TCP connection: RFC 4571 frames in both directions.
async fn serve_tcp(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    local_port: u16,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    if events
        .send(TcpEvent::Opened(peer, local_port, out_tx))
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    let mut decoder = TcpFrameDecoder::new();
    let mut buf = BytesMut::zeroed(4096);
    loop {
        match tokio::time::timeout(TCP_IDLE, rd.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                decoder.extend_from_slice(&buf[..n]);
                while let Some(frame) = decoder.next_packet() {
                    if events.send(TcpEvent::Frame(peer, frame)).is_err() {
                        return;
                    }
                }
            }
        }
    }
    writer.abort();
    let _ = events.send(TcpEvent::Closed(peer));
}
