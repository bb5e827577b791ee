//! Sending a loop turn's worth of datagrams with as few system calls as possible:
//! `sendmmsg` on Linux (through `nix`, so no unsafe code here), one `send_to`
//! per datagram elsewhere or when the batch call fails.

use bytes::BytesMut;
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use tracing::debug;

/// Datagrams per system call.
const BATCH: usize = 64;

/// Sends every datagram; failures are logged and the datagram dropped (UDP).
pub async fn send_all(sock: &UdpSocket, packets: &[(SocketAddr, BytesMut)]) {
    let mut sent = 0;
    while sent < packets.len() {
        let end = (sent + BATCH).min(packets.len());
        match send_some(sock, &packets[sent..end]) {
            Ok(n) if n > 0 => sent += n,
            Ok(_) => sent += send_one(sock, &packets[sent]).await,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if sock.writable().await.is_err() {
                    return;
                }
            }
            // One bad destination must not stall the rest: send it alone.
            Err(_) => sent += send_one(sock, &packets[sent]).await,
        }
    }
}

async fn send_one(sock: &UdpSocket, (peer, bytes): &(SocketAddr, BytesMut)) -> usize {
    if let Err(e) = sock.send_to(bytes, *peer).await {
        debug!(%peer, error = %e, "udp send");
    }
    1
}

#[cfg(target_os = "linux")]
fn send_some(sock: &UdpSocket, packets: &[(SocketAddr, BytesMut)]) -> std::io::Result<usize> {
    use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;

    let slices: Vec<[IoSlice<'_>; 1]> = packets.iter().map(|(_, b)| [IoSlice::new(b)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = packets
        .iter()
        .map(|(a, _)| Some(SockaddrStorage::from(*a)))
        .collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(packets.len(), None);
    let no_cmsgs: [ControlMessage<'_>; 0] = [];
    sock.try_io(tokio::io::Interest::WRITABLE, || {
        sendmmsg(
            sock.as_raw_fd(),
            &mut headers,
            &slices,
            &addrs,
            no_cmsgs,
            MsgFlags::empty(),
        )
        .map(|results| results.count())
        .map_err(std::io::Error::from)
    })
}

#[cfg(not(target_os = "linux"))]
fn send_some(_sock: &UdpSocket, _packets: &[(SocketAddr, BytesMut)]) -> std::io::Result<usize> {
    Ok(0)
}

/// The receive buffer asked of the kernel for the one media socket. Every site's
/// uplink lands in it: 221 sites send about 5 MB/s, so the default (208 KiB on
/// Debian) holds 40 ms, and a media thread scheduled out for longer loses datagrams,
/// DTLS flights among them (measured: 12 of 220 sites' handshakes never finished).
/// The kernel caps the request at `net.core.rmem_max` (docs/operations.md).
pub const RECV_BUFFER: usize = 4 << 20;

/// Asks for [`RECV_BUFFER`]; returns what the kernel granted (Linux reports twice
/// the usable size), or None where that cannot be set.
#[cfg(target_os = "linux")]
pub fn enlarge_recv_buffer(sock: &std::net::UdpSocket) -> Option<usize> {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt::RcvBuf};
    if let Err(e) = setsockopt(sock, RcvBuf, &RECV_BUFFER) {
        debug!(error = %e, "SO_RCVBUF");
    }
    getsockopt(sock, RcvBuf).ok()
}

#[cfg(not(target_os = "linux"))]
pub fn enlarge_recv_buffer(_sock: &std::net::UdpSocket) -> Option<usize> {
    None
}
