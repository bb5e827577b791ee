//! UDP relays between one client connection and the SFU that drop some of the server's
//! RTP (never RTCP, STUN or DTLS): a lossy link that makes NACKs happen, and a
//! throttled thin link that makes the bandwidth estimate fall.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::net::UdpSocket;

/// A relay; the policy it was built with decides which server RTP packets get through.
pub struct Relay {
    /// Where the client should send (stands in for the server's candidate).
    pub addr: SocketAddr,
    pub dropped: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// SRTP keeps the RTP header in clear: version 2 and a payload type outside the
/// RTCP range (RFC 5761) make it RTP.
fn is_rtp(b: &[u8]) -> bool {
    b.len() >= 12 && b[0] >> 6 == 2 && !(192..=223).contains(&b[1])
}

/// Relays everything, except the server's RTP packets for which `pass(len)` says no.
async fn relay(server: SocketAddr, mut pass: impl FnMut(usize) -> bool + Send + 'static) -> Relay {
    let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = front.local_addr().unwrap();
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let task = tokio::spawn(async move {
        let mut client: Option<SocketAddr> = None;
        let (mut a, mut b) = (vec![0u8; 2048], vec![0u8; 2048]);
        loop {
            tokio::select! {
                Ok((n, from)) = front.recv_from(&mut a) => {
                    client = Some(from);
                    let _ = back.send_to(&a[..n], server).await;
                }
                Ok((n, _)) = back.recv_from(&mut b) => {
                    let Some(to) = client else { continue };
                    if is_rtp(&b[..n]) && !pass(n) {
                        counter.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let _ = front.send_to(&b[..n], to).await;
                }
            }
        }
    });
    Relay {
        addr,
        dropped,
        task,
    }
}

/// Drops every `drop_every`-th video-sized RTP packet (audio is not NACKed).
pub async fn lossy_proxy(server: SocketAddr, drop_every: u64) -> Relay {
    let mut video_seen = 0u64;
    relay(server, move |n| {
        if n <= 400 {
            return true;
        }
        video_seen += 1;
        !video_seen.is_multiple_of(drop_every)
    })
    .await
}

/// A relay whose RTP is limited to `limit_bps` (a token bucket of 100 ms; 0 = no limit),
/// the rest dropped, as a saturated thin link does. The limit can change while it runs.
pub struct Throttle {
    pub relay: Relay,
    pub limit_bps: Arc<AtomicU64>,
}

pub async fn throttle(server: SocketAddr) -> Throttle {
    let limit_bps = Arc::new(AtomicU64::new(0));
    let limit = limit_bps.clone();
    let mut tokens = 0f64;
    let mut last = Instant::now();
    let relay = relay(server, move |n| {
        let bps = limit.load(Ordering::Relaxed) as f64;
        let now = Instant::now();
        tokens = (tokens + bps / 8.0 * (now - last).as_secs_f64()).min(bps / 8.0 * 0.1);
        last = now;
        if bps == 0.0 {
            return true;
        }
        let fits = tokens >= n as f64;
        if fits {
            tokens -= n as f64;
        }
        fits
    })
    .await;
    Throttle { relay, limit_bps }
}
