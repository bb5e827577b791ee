//! A UDP relay between one client connection and the SFU that drops some of the
//! server's large (video) RTP packets (never RTCP, STUN or DTLS), to make NACKs happen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::UdpSocket;

pub struct LossyProxy {
    /// Where the client should send (stands in for the server's candidate).
    pub addr: SocketAddr,
    pub dropped: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// SRTP keeps the RTP header in clear: version 2 and a payload type outside the
/// RTCP range (RFC 5761) make it RTP.
fn is_rtp(b: &[u8]) -> bool {
    b.len() >= 12 && b[0] >> 6 == 2 && !(192..=223).contains(&b[1])
}

pub async fn lossy_proxy(server: SocketAddr, drop_every: u64) -> LossyProxy {
    let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = front.local_addr().unwrap();
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let task = tokio::spawn(async move {
        let mut client: Option<SocketAddr> = None;
        let (mut a, mut b) = (vec![0u8; 2048], vec![0u8; 2048]);
        let mut rtp_seen = 0u64;
        loop {
            tokio::select! {
                Ok((n, from)) = front.recv_from(&mut a) => {
                    client = Some(from);
                    let _ = back.send_to(&a[..n], server).await;
                }
                Ok((n, _)) = back.recv_from(&mut b) => {
                    let Some(to) = client else { continue };
                    // Only video-sized packets: audio is not NACKed.
                    if is_rtp(&b[..n]) && n > 400 {
                        rtp_seen += 1;
                        if rtp_seen.is_multiple_of(drop_every) {
                            counter.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                    let _ = front.send_to(&b[..n], to).await;
                }
            }
        }
    });
    LossyProxy {
        addr,
        dropped,
        task,
    }
}
