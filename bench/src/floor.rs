//! The floor: the work no forwarder can avoid per forwarded packet, measured here: SRTP
//! protection of a 1,200-byte RTP packet (the `rtc` crate's SRTP, the one our server
//! uses) and a UDP send on loopback, batched with `sendmmsg` across destinations (how our
//! server sends: one socket, many halls).

use bytes::Bytes;
use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
use rtc::rtp;
use rtc::srtp::context::Context;
use rtc::srtp::protection_profile::ProtectionProfile;
use serde::Serialize;
use std::io::IoSlice;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    pub packets: usize,
    pub protect_gcm_us: f64,
    pub protect_cm_sha1_us: f64,
    /// sendmmsg of already protected packets to `destinations` loopback sockets.
    pub send_us: f64,
    pub destinations: usize,
    /// GCM protect + send: what our server must at least spend per forwarded packet.
    pub floor_us: f64,
}

fn packet(seq: u16) -> Vec<u8> {
    let p = rtp::Packet {
        header: rtp::Header {
            version: 2,
            payload_type: 96,
            sequence_number: seq,
            timestamp: u32::from(seq) * 3000,
            ssrc: 0x1234_5678,
            ..Default::default()
        },
        payload: Bytes::from(vec![0xAB; 1200 - 12]),
    };
    rtc::shared::marshal::Marshal::marshal(&p)
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

fn protect_us(profile: ProtectionProfile, n: usize) -> anyhow::Result<f64> {
    let provider = rtc::crypto::default_provider()?;
    let key = vec![7u8; profile.key_len()];
    let salt = vec![9u8; profile.salt_len()];
    let mut ctx = Context::new(&key, &salt, profile, None, None, provider.crypto())?;
    let packets: Vec<Vec<u8>> = (0..1024u16).map(packet).collect();
    let t = Instant::now();
    for i in 0..n {
        let out = ctx.encrypt_rtp(&packets[i % packets.len()])?;
        std::hint::black_box(out);
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / n as f64)
}

fn send_us(n: usize, destinations: usize) -> anyhow::Result<f64> {
    let tx = UdpSocket::bind("127.0.0.1:0")?;
    let sinks: Vec<UdpSocket> = (0..destinations)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    for s in &sinks {
        s.set_nonblocking(true)?;
    }
    let addrs: Vec<SockaddrStorage> = sinks
        .iter()
        .map(|s| s.local_addr().map(SockaddrStorage::from))
        .collect::<Result<_, _>>()?;
    let data = vec![0xCDu8; 1200 + 16];
    const BATCH: usize = 32;
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut buf = vec![0u8; 2048];
    let t = Instant::now();
    let mut sent = 0;
    while sent < n {
        let slices: Vec<[IoSlice<'_>; 1]> = (0..BATCH).map(|_| [IoSlice::new(&data)]).collect();
        let dests: Vec<Option<SockaddrStorage>> = (0..BATCH)
            .map(|i| Some(addrs[(sent + i) % destinations]))
            .collect();
        let no_cmsgs: [ControlMessage<'_>; 0] = [];
        let r = sendmmsg(
            tx.as_raw_fd(),
            &mut headers,
            &slices,
            &dests,
            no_cmsgs,
            MsgFlags::empty(),
        )?;
        sent += r.count();
        // Keep the receive queues from filling (their cost is the receivers', not ours).
        for s in &sinks {
            while s.recv(&mut buf).is_ok() {}
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / sent as f64)
}

pub fn measure(packets: usize, destinations: usize) -> anyhow::Result<Floor> {
    let gcm = protect_us(ProtectionProfile::AeadAes128Gcm, packets)?;
    let cm = protect_us(ProtectionProfile::Aes128CmHmacSha1_80, packets)?;
    let send = send_us(packets, destinations)?;
    Ok(Floor {
        packets,
        protect_gcm_us: gcm,
        protect_cm_sha1_us: cm,
        send_us: send,
        destinations,
        floor_us: gcm + send,
    })
}
