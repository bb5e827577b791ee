//! All media on one UDP port: with ten participants publishing and subscribed to each
//! other, the server process owns exactly one UDP socket, and the nine new
//! subscribers of each publisher do not turn into a storm of keyframe requests.
//!
//! Also, ignored by default, a measurement of the server's CPU and memory with ten
//! participants each sending 1 Mbit/s of video (`cargo test -p bridge-e2e --test
//! one_port -- --ignored --nocapture`); it prints, it does not assert.

use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::recv::Kind;
use bridge_e2e::server::BridgeServer;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use webrtc::peer_connection::RTCPeerConnectionState;

const ROOM: &str = "tinh-phu-tho";
const WAIT: Duration = Duration::from_secs(60);

/// The socket inodes among a process's open file descriptors.
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut out = HashSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for entry in dir.flatten() {
        if let Ok(target) = std::fs::read_link(entry.path())
            && let Some(s) = target.to_str()
            && let Some(inode) = s.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']'))
            && let Ok(n) = inode.parse()
        {
            out.insert(n);
        }
    }
    out
}

/// Local ports of the UDP sockets (v4 and v6) that belong to `pid`.
fn udp_ports_of(pid: u32) -> Vec<u16> {
    let inodes = socket_inodes(pid);
    let mut ports = Vec::new();
    for table in ["udp", "udp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let inode: u64 = f[9].parse().unwrap_or(0);
            if !inodes.contains(&inode) {
                continue;
            }
            let port = f[1]
                .rsplit(':')
                .next()
                .and_then(|h| u16::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            ports.push(port);
        }
    }
    ports
}

async fn ten_in_a_room(server: &BridgeServer, video_bps: u32, fps: u32) -> Vec<Client> {
    let mut clients = Vec::new();
    for i in 0..10 {
        let opts = ClientOptions {
            tone_hz: Some(300.0 + 110.0 * i as f32),
            video_bps: Some(video_bps),
            fps,
            ..Default::default()
        };
        let c = Client::join(server, ROOM, &format!("Xã số {i}"), opts)
            .await
            .unwrap();
        clients.push(c);
    }
    for c in &clients {
        wait_until(WAIT, "both peer connections connected", || {
            c.publish_state() == Some(RTCPeerConnectionState::Connected)
                && c.subscribe_state() == Some(RTCPeerConnectionState::Connected)
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}: {} publish {:?} subscribe {:?} failures {:?}",
                c.id,
                c.publish_state(),
                c.subscribe_state(),
                c.failures()
            )
        });
    }
    for l in &clients {
        for s in &clients {
            if l.id != s.id {
                wait_until(WAIT, "video from every other participant", || {
                    l.stream(&s.id, Kind::Video)
                        .is_some_and(|v| v.packets >= 10)
                })
                .await
                .unwrap_or_else(|e| panic!("{e}: {} from {}", l.id, s.id));
            }
        }
    }
    clients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_participants_share_one_udp_socket() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let t0 = Instant::now();
    let clients = ten_in_a_room(&server, 150_000, 15).await;
    println!(
        "10 participants connected and receiving all video after {:?}",
        t0.elapsed()
    );
    let last = clients.last().unwrap();
    println!(
        "join time of the 10th (ws open -> first remote video packet): {:?}",
        last.first_video_at()
            .map(|t| t.duration_since(last.opened_at))
    );

    let elapsed = t0.elapsed();
    let requests: Vec<u64> = clients.iter().map(|c| c.keyframe_requests()).collect();
    println!("keyframe requests that reached each publisher in {elapsed:?}: {requests:?}");
    // Nine new subscribers per publisher, but keyframe requests are aggregated: at most
    // one per second per published layer (plus the one that starts the window).
    let bound = elapsed.as_secs() + 2;
    assert!(
        requests.iter().all(|&r| r <= bound),
        "keyframe storm: {requests:?} requests in {elapsed:?} (at most {bound} expected)"
    );
    let ports = udp_ports_of(server.pid());
    assert_eq!(
        ports,
        vec![server.udp.port()],
        "the server's UDP sockets (by local port) with 10 participants"
    );
    // The same count over this test process finds the clients' 20 sockets (one per
    // webrtc-rs peer connection): the counter can see more than one.
    assert_eq!(udp_ports_of(std::process::id()).len(), 20);
    for mut c in clients {
        c.close().await;
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn clock_ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
async fn measure_server_cpu_and_memory_with_ten_at_one_megabit() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let pid = server.pid();
    let rss_idle = rss_kib(pid);
    let clients = ten_in_a_room(&server, 1_000_000, 25).await;
    // Let it settle, then measure over 10 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = |cs: &[Client]| -> u64 {
        cs.iter()
            .flat_map(|l| cs.iter().map(move |s| (l, s)))
            .filter(|(l, s)| l.id != s.id)
            .map(|(l, s)| l.packets_from(&s.id))
            .sum()
    };
    let (p0, c0, t0) = (received(&clients), cpu_ticks(pid), Instant::now());
    let me0 = cpu_ticks(std::process::id());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (p1, c1, el) = (received(&clients), cpu_ticks(pid), t0.elapsed());
    let me1 = cpu_ticks(std::process::id());
    let hz = clock_ticks_per_sec() as f64;
    let cpu_s = (c1 - c0) as f64 / hz;
    let pkts = p1 - p0;
    println!("--- server with 10 participants, 1 Mbit/s VP8 + Opus each, loopback ---");
    println!(
        "server CPU: {:.1}% of one core over {:.1} s",
        100.0 * cpu_s / el.as_secs_f64(),
        el.as_secs_f64()
    );
    println!(
        "forwarded packets received by the clients: {pkts} ({:.0}/s); server CPU per forwarded packet: {:.1} µs",
        pkts as f64 / el.as_secs_f64(),
        cpu_s * 1e6 / pkts.max(1) as f64
    );
    println!(
        "server RSS: {} KiB idle, {} KiB with 10 participants",
        rss_idle,
        rss_kib(pid)
    );
    println!(
        "test process (20 webrtc peer connections) CPU: {:.1}% of one core",
        100.0 * (me1 - me0) as f64 / hz / el.as_secs_f64()
    );
    for mut c in clients {
        c.close().await;
    }
}
