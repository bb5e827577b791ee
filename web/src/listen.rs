//! The HTTPS port, shared with ICE-TCP: many commune and government networks let only
//! TCP to port 443 out, so the one HTTPS listener also carries media for those halls.
//! Each connection is told apart by its first bytes, peeked, never read: a TLS record
//! starts with 0x16 (handshake); an ICE-TCP connection (RFC 6544) starts with an
//! RFC 4571 frame, a 2-byte length and then a STUN binding request (type 0x0001 and
//! the magic cookie 0x2112A442 at bytes 6..10). TLS goes to the web app, ICE-TCP to the
//! media plane.

use bridge_sfu::SfuHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a new connection may take to send its first bytes, and then its TLS
/// handshake: a connection that says nothing must not hold a slot.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections still being told apart or in their handshake, at most.
const MAX_PENDING: usize = 512;
const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// What the first bytes of a connection say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstBytes {
    Tls,
    IceTcp,
    /// Plain HTTP (or anything else) on the HTTPS port: closed.
    Other,
    /// Too few bytes yet to tell.
    NeedMore,
}

/// Tells a connection apart by the bytes peeked so far.
pub fn classify(b: &[u8]) -> FirstBytes {
    match b.first() {
        None => FirstBytes::NeedMore,
        Some(0x16) => FirstBytes::Tls,
        // A STUN message in a frame is at most a few hundred bytes: the length's high
        // byte is 0 (and 0x16 above would be a 5.6 KB frame, never a binding request).
        Some(0x00) => {
            if b.len() < 10 {
                return FirstBytes::NeedMore;
            }
            let frame_len = usize::from(u16::from_be_bytes([b[0], b[1]]));
            if b[2..4] == [0x00, 0x01] && b[6..10] == STUN_MAGIC && frame_len >= 20 {
                FirstBytes::IceTcp
            } else {
                FirstBytes::Other
            }
        }
        Some(_) => FirstBytes::Other,
    }
}

/// The accepted TLS connections, for `axum::serve`.
pub struct TlsIncoming {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsIncoming {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ended (the runtime is stopping): wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Starts the accept loop of the shared HTTPS port; TLS connections come out of the
/// returned listener after their handshake, ICE-TCP connections go to `sfu`.
pub fn https(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    sfu: SfuHandle,
) -> std::io::Result<TlsIncoming> {
    let local = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(tls);
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %e, "HTTPS accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = pending.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "too many connections in their handshake; closed");
                continue;
            };
            let (tx, acceptor, sfu) = (tx.clone(), acceptor.clone(), sfu.clone());
            tokio::spawn(async move {
                let kind = tokio::time::timeout(FIRST_BYTES_TIMEOUT, first_bytes(&stream))
                    .await
                    .unwrap_or(FirstBytes::Other);
                match kind {
                    FirstBytes::Tls => {
                        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        match tls.await {
                            Ok(Ok(tls)) => {
                                drop(permit);
                                let _ = tx.send((tls, peer)).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                    FirstBytes::IceTcp => sfu.accept_ice_tcp(stream, peer, local.port()),
                    FirstBytes::Other | FirstBytes::NeedMore => {
                        tracing::debug!(%peer, "neither TLS nor ICE-TCP on the HTTPS port; closed")
                    }
                }
            });
        }
    });
    Ok(TlsIncoming { rx, local })
}

/// The plain-HTTP side when TLS is on: every request is sent to the same path on HTTPS,
/// so an old bookmark or a typed address still lands on the secure page.
pub fn redirect_to_https(https_port: u16, fallback_host: String) -> axum::Router {
    use axum::http::{HeaderMap, Uri, header};
    use axum::response::Redirect;
    axum::Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let fallback_host = fallback_host.clone();
        async move {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(host_without_port)
                .filter(|h| is_plain_host(h))
                .unwrap_or(&fallback_host);
            let port = if https_port == 443 {
                String::new()
            } else {
                format!(":{https_port}")
            };
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            Redirect::permanent(&format!("https://{host}{port}{path}"))
        }
    })
}

/// `example.org:8080` → `example.org`, `[::1]:8080` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// A Host header goes into a Location header: letters, digits, `.-:[]` only.
fn is_plain_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Peeks until the first bytes tell what the connection is (the caller bounds the time).
async fn first_bytes(stream: &TcpStream) -> FirstBytes {
    let mut buf = [0u8; 10];
    loop {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return FirstBytes::Other,
            Ok(n) => match classify(&buf[..n]) {
                FirstBytes::NeedMore => {
                    // peek returns at once while bytes are waiting: give the rest time.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                kind => return kind,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request as Chromium frames it over ICE-TCP (header and start).
    fn stun_frame() -> Vec<u8> {
        let mut f = vec![0x00, 0x64, 0x00, 0x01, 0x00, 0x50];
        f.extend_from_slice(&STUN_MAGIC);
        f.extend_from_slice(&[0xAB; 12]);
        f
    }

    #[test]
    fn the_redirect_keeps_the_host_but_not_its_port() {
        assert_eq!(host_without_port("192.0.2.1:8080"), "192.0.2.1");
        assert_eq!(host_without_port("[2001:db8::1]:80"), "[2001:db8::1]");
        assert_eq!(host_without_port("[2001:db8::1]"), "[2001:db8::1]");
        assert_eq!(host_without_port("cau.example"), "cau.example");
        assert!(!is_plain_host("evil.example/\r\nSet-Cookie:"));
        assert!(!is_plain_host(""));
    }

    #[test]
    fn tells_tls_ice_tcp_and_others_apart() {
        assert_eq!(classify(&[0x16, 0x03, 0x01, 0x02, 0x00]), FirstBytes::Tls);
        assert_eq!(classify(&stun_frame()), FirstBytes::IceTcp);
        assert_eq!(classify(b"GET / HTTP/1.1\r\n"), FirstBytes::Other);
        assert_eq!(classify(b""), FirstBytes::NeedMore);
        assert_eq!(classify(&stun_frame()[..7]), FirstBytes::NeedMore);
        // A STUN response, or a frame without the magic cookie, is not a new ICE-TCP peer.
        let mut response = stun_frame();
        response[2..4].copy_from_slice(&[0x01, 0x01]);
        assert_eq!(classify(&response), FirstBytes::Other);
        let mut no_cookie = stun_frame();
        no_cookie[6] = 0;
        assert_eq!(classify(&no_cookie), FirstBytes::Other);
        assert_eq!(classify(&[0x00; 10]), FirstBytes::Other);
    }
}
