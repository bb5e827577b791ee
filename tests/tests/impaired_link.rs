//! The emulated thin link on its own (`bridge_e2e::impair`: tun devices and a relay in
//! this process applying rate, delay, loss and outages to a hall's network namespace):
//! delay, rate, loss and cut as set, measured by the endpoints, not by the relay. A UDP
//! echo inside the hall answers a socket on the server's side; `thin_link.rs` then puts
//! a hall's Chromium behind the same link.
//!
//! Needs root (network namespaces, /dev/net/tun) and Perl (perl-base): CI has both.

use anyhow::{Context, bail, ensure};
use bridge_e2e::impair::{Direction, ImpairedHall, Impairment};
use std::net::UdpSocket;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The seed of the link's random loss: the same drops on every run of the same traffic.
const SEED: u64 = 20_260_512;
const ONE_WAY: Duration = Duration::from_millis(150);

/// Ends a helper process (the hall's echo) however the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A UDP echo inside the hall on port 7 (Perl: perl-base is essential on Debian).
fn hall_echo(hall: &ImpairedHall) -> anyhow::Result<KillOnDrop> {
    let script = format!(
        "use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => '{}:7', \
         Proto => 'udp') or die $!; my $b; \
         while (1) {{ my $peer = $s->recv($b, 65535); $s->send($b, 0, $peer) if $peer; }}",
        hall.hall_ip
    );
    Ok(KillOnDrop(
        hall.command("perl")
            .args(["-e", &script])
            .stdin(Stdio::null())
            .spawn()?,
    ))
}

/// A socket on the server's side talking to the hall's echo, once the echo answers.
fn echo_socket(hall: &ImpairedHall) -> anyhow::Result<UdpSocket> {
    let socket = UdpSocket::bind((hall.server_ip, 0))?;
    socket.connect((hall.hall_ip, 7))?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        socket.send(b"hello")?;
        if socket.recv(&mut [0; 64]).is_ok() {
            return Ok(socket);
        }
        if Instant::now() > deadline {
            bail!("the hall's UDP echo does not answer");
        }
    }
}

/// Sends `count` numbered datagrams of `size` bytes `gap` apart and returns how many
/// came back within a second of the last.
fn echoed(socket: &UdpSocket, count: u32, size: usize, gap: Duration) -> anyhow::Result<u32> {
    // Answers of an earlier round must not count in this one.
    socket.set_read_timeout(Some(Duration::from_millis(300)))?;
    while socket.recv(&mut [0; 2048]).is_ok() {}
    let reader = socket.try_clone()?;
    let counter = std::thread::spawn(move || {
        let mut got = 0u32;
        let mut buf = [0u8; 2048];
        let _ = reader.set_read_timeout(Some(Duration::from_millis(1500)));
        while let Ok(n) = reader.recv(&mut buf) {
            if n >= 4 && buf[..4] != *b"DONE" {
                got += 1;
            }
        }
        got
    });
    let mut payload = vec![0u8; size];
    for i in 0..count {
        payload[..4].copy_from_slice(&i.to_be_bytes());
        socket.send(&payload)?;
        std::thread::sleep(gap);
    }
    counter
        .join()
        .map_err(|_| anyhow::anyhow!("the echo counter panicked"))
}

#[test]
fn the_relay_delays_limits_drops_and_cuts_as_set() -> anyhow::Result<()> {
    let hall = ImpairedHall::create(Impairment::default(), SEED)?;
    let _echo = hall_echo(&hall)?;
    let socket = echo_socket(&hall)?;

    // Delay: 150 ms each way, so a small datagram's round trip is about 300 ms.
    hall.set(Impairment {
        delay: ONE_WAY,
        ..Impairment::default()
    });
    let mut rtts = Vec::new();
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    for i in 0u32..10 {
        let sent = Instant::now();
        socket.send(&i.to_be_bytes())?;
        let mut buf = [0u8; 16];
        loop {
            let n = socket.recv(&mut buf).context("an echo within 2 s")?;
            if n == 4 && buf[..4] == i.to_be_bytes() {
                break;
            }
        }
        rtts.push(sent.elapsed());
    }
    rtts.sort();
    let median = rtts[rtts.len() / 2];
    eprintln!("relay: round trip at 150 ms each way: median {median:?}, all {rtts:?}");
    ensure!(
        median >= Duration::from_millis(300) && median <= Duration::from_millis(340),
        "round trip {median:?}, not 300 ms (+40 ms)"
    );

    // Rate: from the server's side at about twice 256 kbit/s for 4 s; the echo returns
    // what got through (the way back unlimited), counted here by arrival time.
    hall.set_direction(
        Direction::ToHall,
        Impairment::new(256_000, Duration::ZERO, 0.0),
    );
    hall.set_direction(Direction::FromHall, Impairment::default());
    socket.set_read_timeout(Some(Duration::from_millis(300)))?;
    while socket.recv(&mut [0; 2048]).is_ok() {}
    let reader = socket.try_clone()?;
    let measure = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let _ = reader.set_read_timeout(Some(Duration::from_millis(1000)));
        let (mut first, mut last, mut bytes) = (None, None, 0usize);
        while let Ok(n) = reader.recv(&mut buf) {
            let now = Instant::now();
            if first.is_none() {
                first = Some(now);
            } else {
                bytes += n + 28; // IP and UDP headers count on the link
            }
            last = Some(now);
        }
        (first, last, bytes)
    });
    let flood_start = Instant::now();
    let mut payload = [0u8; 972]; // 1,000 bytes on the wire
    let mut i = 0u32;
    while flood_start.elapsed() < Duration::from_secs(4) {
        payload[..4].copy_from_slice(&i.to_be_bytes());
        socket.send(&payload)?;
        i += 1;
        std::thread::sleep(Duration::from_micros(15_600)); // 64 packets/s: 512 kbit/s
    }
    let (first, last, bytes) = measure
        .join()
        .map_err(|_| anyhow::anyhow!("the rate counter panicked"))?;
    let (first, last) = first
        .zip(last)
        .context("nothing came through the limited link")?;
    let kbps = bytes as f64 * 8.0 / (last - first).as_secs_f64() / 1000.0;
    let to_hall = hall.counters(Direction::ToHall);
    eprintln!(
        "relay: {i} datagrams offered at 512 kbit/s through 256 kbit/s: received at \
         {kbps:.0} kbit/s; to the hall {to_hall:?}"
    );
    ensure!(
        (230.0..=270.0).contains(&kbps),
        "a 256 kbit/s link delivered {kbps:.0} kbit/s"
    );
    ensure!(
        to_hall.queue_drops > 0,
        "twice the rate dropped nothing: {to_hall:?}"
    );

    // Loss: 10 % on the way to the hall only, over 2,000 datagrams; with this seed the
    // count is the same every run, up to the odd datagram of someone else.
    hall.set_direction(
        Direction::ToHall,
        Impairment {
            loss: 0.10,
            ..Impairment::default()
        },
    );
    let before = hall.counters(Direction::ToHall);
    let got = echoed(&socket, 2000, 100, Duration::from_micros(500))?;
    let lost = hall.counters(Direction::ToHall).since(&before);
    let rate = 1.0 - f64::from(got) / 2000.0;
    eprintln!(
        "relay: 10 % loss: {got} of 2000 echoed ({:.1} % lost); {lost:?}",
        rate * 100.0
    );
    ensure!(
        (0.08..=0.12).contains(&rate),
        "10 % loss lost {:.1} %",
        rate * 100.0
    );

    // Cut: nothing passes either way; restored, everything does again.
    hall.set(Impairment::default());
    hall.cut(true);
    let before = (
        hall.counters(Direction::ToHall),
        hall.counters(Direction::FromHall),
    );
    let got = echoed(&socket, 50, 100, Duration::from_millis(2))?;
    let cut = hall.counters(Direction::ToHall).since(&before.0);
    ensure!(got == 0, "{got} of 50 echoed through a cut link");
    ensure!(
        cut.cut_drops >= 50 && cut.passed_packets == 0,
        "a cut link's counters: {cut:?}"
    );
    ensure!(
        hall.counters(Direction::FromHall)
            .since(&before.1)
            .passed_packets
            == 0,
        "something left the hall through a cut link"
    );
    hall.cut(false);
    let got = echoed(&socket, 50, 100, Duration::from_millis(2))?;
    eprintln!("relay: cut: 0 of 50 echoed ({cut:?}); restored: {got} of 50");
    ensure!(got == 50, "after the cut only {got} of 50 echoed");
    Ok(())
}
