//! ICE-TCP (RFC 6544, passive side): one listener, RFC 4571 framing. Each TCP
//! connection is a small task that hands whole frames to the media loop and writes
//! what the loop sends back; the loop treats a frame like a datagram.

use bytes::BytesMut;
use rtc::shared::tcp_framing::TcpFrameDecoder;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
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

/// At most this many ICE-TCP connections at once, and from one address (a hall uses two
/// or four: publish and subscribe, on the media port and the HTTPS port); more are
/// refused, so one client cannot hold every slot and lock out the TCP-only halls.
const MAX_TCP_CONNECTIONS: usize = 2048;
const MAX_PER_ADDRESS: usize = 32;
/// A TCP connection silent for this long is closed (also sheds junk connections).
const TCP_IDLE: Duration = Duration::from_secs(30);
/// Its first whole frame must come sooner: a connection that trickles bytes without
/// ever framing a STUN request holds nothing for long.
const FIRST_FRAME: Duration = Duration::from_secs(10);

/// The ICE-TCP connections open now, in all and per remote address; shared by the
/// media port's listener and connections handed over from the HTTPS port.
#[derive(Clone, Default)]
pub struct TcpSlots(Arc<Mutex<SlotCounts>>);

#[derive(Default)]
struct SlotCounts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One taken slot, given back on drop.
pub struct Slot {
    slots: TcpSlots,
    ip: IpAddr,
}

impl TcpSlots {
    fn with<T>(&self, f: impl FnOnce(&mut SlotCounts) -> T) -> T {
        match self.0.lock() {
            Ok(mut c) => f(&mut c),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// A slot for a connection from `ip`, unless the limits are reached.
    pub fn take(&self, ip: IpAddr) -> Option<Slot> {
        self.with(|c| {
            let mine = c.per_ip.get(&ip).copied().unwrap_or(0);
            if c.total >= MAX_TCP_CONNECTIONS || mine >= MAX_PER_ADDRESS {
                return None;
            }
            c.per_ip.insert(ip, mine + 1);
            c.total += 1;
            Some(Slot {
                slots: self.clone(),
                ip,
            })
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.with(|c| {
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    c.per_ip.remove(&self.ip);
                }
            }
        });
    }
}

pub async fn accept_tcp(
    listener: TcpListener,
    slots: TcpSlots,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let local_port = listener.local_addr().map_or(0, |a| a.port());
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                spawn_connection(stream, peer, local_port, &slots, events.clone());
            }
            Err(e) => {
                warn!(error = %e, "ICE-TCP accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one accepted ICE-TCP connection (from the media port's listener, or handed
/// over by another listener: `SfuHandle::accept_ice_tcp`) if a slot is free.
pub fn spawn_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    local_port: u16,
    slots: &TcpSlots,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let Some(slot) = slots.take(peer.ip()) else {
        debug!(%peer, "ICE-TCP connection limit reached (in all or for this address); refused");
        return;
    };
    let _ = stream.set_nodelay(true);
    tokio::spawn(async move {
        serve_tcp(stream, peer, local_port, events).await;
        drop(slot);
    });
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
    let first_frame_by = tokio::time::Instant::now() + FIRST_FRAME;
    let mut framed = false;
    loop {
        let idle = tokio::time::Instant::now() + TCP_IDLE;
        let deadline = if framed {
            idle
        } else {
            idle.min(first_frame_by)
        };
        match tokio::time::timeout_at(deadline, rd.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                decoder.extend_from_slice(&buf[..n]);
                while let Some(frame) = decoder.next_packet() {
                    framed = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_slot() {
        let slots = TcpSlots::default();
        let greedy = IpAddr::from([198, 51, 100, 9]);
        let held: Vec<Slot> = (0..MAX_PER_ADDRESS)
            .map(|_| slots.take(greedy).expect("under the per-address limit"))
            .collect();
        assert!(slots.take(greedy).is_none(), "over the per-address limit");
        let hall = IpAddr::from([198, 51, 100, 10]);
        let other = slots.take(hall);
        assert!(other.is_some(), "another hall still gets a slot");
        drop(held);
        drop(other);
        assert!(
            slots.take(greedy).is_some(),
            "slots come back when connections close"
        );
        assert_eq!(
            slots.with(|c| (c.total, c.per_ip.len())),
            (0, 0),
            "nothing left"
        );
    }
}
