//! A commune hall behind a thin, lossy link, emulated in user space (the kernel here has
//! no netem): the hall's network namespace ([`HallNet`]) is joined to the root namespace
//! by two tun devices, and relay threads in the test process carry each IP packet from
//! one device to the other through a model of the link. Each direction on its own:
//!
//! - **rate**: a serialising link of `rate_bps`, with a tail-drop FIFO in front of it
//!   measured in bytes. By default the queue holds 200 ms at the rate (a modem's buffer;
//!   never less than two full-size packets, so that a 64 kbit/s link still takes a
//!   1,500-byte packet while sending one): `queue_bytes` sets it in bytes. A packet that
//!   does not fit is dropped (`queue_drops`).
//! - **delay**: one way, added after the packet is serialised.
//! - **loss**: each packet that got through the queue is lost on the wire with
//!   probability `loss` (it still used the link's time), from a seeded RNG, so a run is
//!   reproducible as far as the traffic itself is.
//! - **cut**: drops everything, including what was queued or in flight when the link
//!   went down, until restored.
//!
//! Settings change while the link runs ([`ImpairedHall::set`], [`ImpairedHall::cut`]);
//! [`ImpairedHall::counters`] tells what happened to the packets in each direction.
//!
//! One exception: the test's own connections to the hall's ChromeDriver (TCP to a port of
//! [`DRIVER_PORTS`] in the hall) pass at once and are never cut: they are how the test
//! watches the hall, not the hall's traffic (counted apart, as `control_packets`).
//!
//! The tun devices are made in the root namespace and the hall's end is moved into the
//! namespace (`ip link set DEV netns NS`), which keeps its file descriptor working. They
//! exist only while the relay holds them open: dropping the [`ImpairedHall`] stops the
//! threads, which closes them, and then removes the namespace. A killed test leaves only
//! the namespace, which the next run removes (see [`crate::netns`]).

use crate::netns::{DRIVER_PORTS, HALL_LINK, HallNet, ip};
use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the relay threads block before looking whether they should stop.
const POLL: Duration = Duration::from_millis(50);
/// The default queue: this long at the link's rate...
const DEFAULT_QUEUE_TIME: Duration = Duration::from_millis(200);
/// ...but never less than two full-size packets.
const MIN_QUEUE_BYTES: usize = 2 * 1500;
const MTU: usize = 1500;

/// What one direction of the link does to packets. `Impairment::default()` is a clean
/// link: no rate limit, no delay, no loss.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// The link's rate in bits per second (IP packets, headers included); `None`: unlimited.
    pub rate_bps: Option<u64>,
    /// One-way delay added to every packet.
    pub delay: Duration,
    /// Probability that a packet is lost on the wire, 0.0 to 1.0.
    pub loss: f64,
    /// The queue in front of the link, in bytes; `None`: 200 ms at the rate (at least
    /// 3,000 bytes). Ignored without a rate.
    pub queue_bytes: Option<usize>,
}

impl Impairment {
    /// A link of `rate_bps` with `delay` one way and random `loss` (0.0-1.0), default queue.
    pub fn new(rate_bps: u64, delay: Duration, loss: f64) -> Impairment {
        Impairment {
            rate_bps: Some(rate_bps),
            delay,
            loss,
            queue_bytes: None,
        }
    }

    /// The queue limit in bytes this setting gives (`None` without a rate).
    pub fn queue_limit(&self) -> Option<usize> {
        let rate = self.rate_bps?;
        Some(self.queue_bytes.unwrap_or_else(|| {
            let at_rate = rate as f64 / 8.0 * DEFAULT_QUEUE_TIME.as_secs_f64();
            (at_rate as usize).max(MIN_QUEUE_BYTES)
        }))
    }
}

/// One direction of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the server's side (root namespace) into the hall: what the hall downloads.
    ToHall,
    /// From the hall to the server's side: what the hall uploads.
    FromHall,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::ToHall, Direction::FromHall];

    fn index(self) -> usize {
        match self {
            Direction::ToHall => 0,
            Direction::FromHall => 1,
        }
    }
}

/// What happened to one direction's packets so far (the control traffic apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Delivered to the other side.
    pub passed_packets: u64,
    pub passed_bytes: u64,
    /// Dropped because the queue was full.
    pub queue_drops: u64,
    /// Lost on the wire (random loss).
    pub loss_drops: u64,
    /// Dropped while the link was cut (arriving, queued or in flight).
    pub cut_drops: u64,
    /// The test's ChromeDriver connections, carried outside the impairment.
    pub control_packets: u64,
}

impl Counters {
    /// Every packet that came into this direction, whatever became of it (control apart).
    pub fn offered(&self) -> u64 {
        self.passed_packets + self.queue_drops + self.loss_drops + self.cut_drops
    }

    /// `self - earlier`, field by field: what happened between two readings.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            passed_packets: self.passed_packets - earlier.passed_packets,
            passed_bytes: self.passed_bytes - earlier.passed_bytes,
            queue_drops: self.queue_drops - earlier.queue_drops,
            loss_drops: self.loss_drops - earlier.loss_drops,
            cut_drops: self.cut_drops - earlier.cut_drops,
            control_packets: self.control_packets - earlier.control_packets,
        }
    }
}

#[derive(Default)]
struct AtomicCounters {
    passed_packets: AtomicU64,
    passed_bytes: AtomicU64,
    queue_drops: AtomicU64,
    loss_drops: AtomicU64,
    cut_drops: AtomicU64,
    control_packets: AtomicU64,
}

impl AtomicCounters {
    fn read(&self) -> Counters {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counters {
            passed_packets: get(&self.passed_packets),
            passed_bytes: get(&self.passed_bytes),
            queue_drops: get(&self.queue_drops),
            loss_drops: get(&self.loss_drops),
            cut_drops: get(&self.cut_drops),
            control_packets: get(&self.control_packets),
        }
    }
}

fn bump(a: &AtomicU64, by: u64) {
    a.fetch_add(by, Ordering::Relaxed);
}

/// A packet on its way and when it reaches the other side.
struct Pending {
    due: Instant,
    packet: Vec<u8>,
}

/// One direction's link state, behind its mutex.
struct Line {
    setting: Impairment,
    /// When the link finishes sending what is queued; the backlog is the time until then.
    busy_until: Instant,
    /// When the last packet put on the line arrives: nothing overtakes it, even if the
    /// delay is lowered meanwhile.
    last_due: Instant,
    rng: StdRng,
    /// Packets serialised or waiting for their delay, in order of `due`.
    pending: VecDeque<Pending>,
    /// The test's control packets, delivered before anything else.
    control: VecDeque<Vec<u8>>,
}

impl Line {
    /// Decides a packet's fate on arrival at `now`: `Some(due)` to deliver it then, or
    /// `None` (dropped, counted).
    fn admit(&mut self, now: Instant, len: usize, counters: &AtomicCounters) -> Option<Instant> {
        let setting = self.setting;
        let mut sent = now;
        if let Some(rate) = setting.rate_bps.filter(|r| *r > 0) {
            let backlog = self.busy_until.saturating_duration_since(now);
            let queued = backlog.as_secs_f64() * rate as f64 / 8.0;
            let limit = setting.queue_limit().unwrap_or(usize::MAX);
            if queued + len as f64 > limit as f64 {
                bump(&counters.queue_drops, 1);
                return None;
            }
            let start = self.busy_until.max(now);
            self.busy_until = start + Duration::from_secs_f64(len as f64 * 8.0 / rate as f64);
            sent = self.busy_until;
        }
        // Lost on the wire after using the link's time.
        if setting.loss > 0.0 && self.rng.random_bool(setting.loss.clamp(0.0, 1.0)) {
            bump(&counters.loss_drops, 1);
            return None;
        }
        let due = (sent + setting.delay).max(self.last_due);
        self.last_due = due;
        Some(due)
    }
}

/// One direction: its line, the condition its delivering thread waits on, its counters.
struct Shaper {
    line: Mutex<Line>,
    ready: Condvar,
    counters: AtomicCounters,
}

impl Shaper {
    fn lock(&self) -> MutexGuard<'_, Line> {
        // A relay thread that panicked leaves consistent data: go on with it.
        self.line.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the relay threads share with the [`ImpairedHall`].
struct Shared {
    shapers: [Shaper; 2],
    cut: AtomicBool,
    stop: AtomicBool,
}

/// A hall's network namespace behind an impaired link. Dereferences to its [`HallNet`],
/// so `Browser::launch_in(&hall, …)` and `hall.command(…)` work as for a plain hall.
pub struct ImpairedHall {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    // Last: removed after the threads closed the devices.
    net: HallNet,
}

impl ImpairedHall {
    /// Creates the namespace and the tun pair, with `setting` in both directions and
    /// random loss drawn from `seed`. Needs root, as [`HallNet::create`] does.
    pub fn create(setting: Impairment, seed: u64) -> anyhow::Result<ImpairedHall> {
        let (net, (server_dev, hall_dev)) = HallNet::create_joined(|net| {
            let server_dev = open_tun(net.link())?;
            // Made here, then moved into the namespace: the fd keeps working.
            let moving = net.link().replacen("bhr", "bht", 1);
            let hall_dev = open_tun(&moving)?;
            ip(&["link", "set", &moving, "netns", &net.name])?;
            net.ip_inside(&["link", "set", &moving, "name", HALL_LINK])?;
            Ok((server_dev, hall_dev))
        })?;
        let now = Instant::now();
        let shaper = |i: u64| Shaper {
            line: Mutex::new(Line {
                setting,
                busy_until: now,
                last_due: now,
                rng: StdRng::seed_from_u64(seed.wrapping_mul(2).wrapping_add(i)),
                pending: VecDeque::new(),
                control: VecDeque::new(),
            }),
            ready: Condvar::new(),
            counters: AtomicCounters::default(),
        };
        let shared = Arc::new(Shared {
            shapers: [shaper(0), shaper(1)],
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let (server_rx, server_tx) = server_dev.split();
        let (hall_rx, hall_tx) = hall_dev.split();
        let mut link = ImpairedHall {
            shared,
            threads: Vec::new(),
            net,
        };
        // Server side -> hall: read on the root namespace's device, write into the hall's.
        link.spawn(Direction::ToHall, server_rx, hall_tx)?;
        link.spawn(Direction::FromHall, hall_rx, server_tx)?;
        Ok(link)
    }

    fn spawn(&mut self, dir: Direction, rx: tun::Reader, tx: tun::Writer) -> anyhow::Result<()> {
        let name = match dir {
            Direction::ToHall => "impair-to-hall",
            Direction::FromHall => "impair-from-hall",
        };
        let shared = self.shared.clone();
        self.threads.push(
            std::thread::Builder::new()
                .name(format!("{name}-in"))
                .spawn(move || receive(&shared, dir, rx))
                .context("starting a relay thread")?,
        );
        let shared = self.shared.clone();
        self.threads.push(
            std::thread::Builder::new()
                .name(format!("{name}-out"))
                .spawn(move || deliver(&shared, dir, tx))
                .context("starting a relay thread")?,
        );
        Ok(())
    }

    /// The hall's namespace and addresses.
    pub fn net(&self) -> &HallNet {
        &self.net
    }

    /// Sets both directions to `setting`, from the next packet on (queued ones keep theirs).
    pub fn set(&self, setting: Impairment) {
        for dir in Direction::BOTH {
            self.set_direction(dir, setting);
        }
    }

    /// Sets one direction.
    pub fn set_direction(&self, dir: Direction, setting: Impairment) {
        self.shared.shapers[dir.index()].lock().setting = setting;
    }

    /// The setting of one direction.
    pub fn setting(&self, dir: Direction) -> Impairment {
        self.shared.shapers[dir.index()].lock().setting
    }

    /// Cuts the link (`true`: everything is dropped, what is queued too) or restores it.
    pub fn cut(&self, cut: bool) {
        self.shared.cut.store(cut, Ordering::SeqCst);
        if cut {
            // What was queued is gone with the link: the queue starts empty on restore.
            for shaper in &self.shared.shapers {
                let mut line = shaper.lock();
                line.busy_until = Instant::now();
                shaper.ready.notify_all();
            }
        }
    }

    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// What happened to one direction's packets so far.
    pub fn counters(&self, dir: Direction) -> Counters {
        self.shared.shapers[dir.index()].counters.read()
    }
}

impl Deref for ImpairedHall {
    type Target = HallNet;

    fn deref(&self) -> &HallNet {
        &self.net
    }
}

impl Drop for ImpairedHall {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for shaper in &self.shared.shapers {
            let _guard = shaper.lock();
            shaper.ready.notify_all();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        // The threads owned the devices: closed now, so the kernel has removed them.
        // `net` is dropped next and removes the namespace.
    }
}

/// Opens a tun device (IP packets, no packet-information header) named `name`, down and
/// without an address.
fn open_tun(name: &str) -> anyhow::Result<tun::Device> {
    let mut config = tun::Configuration::default();
    config.tun_name(name).layer(tun::Layer::L3);
    tun::create(&config).with_context(|| format!("creating tun device {name} (root needed)"))
}

/// Whether `packet` belongs to the test's connection to the hall's ChromeDriver: IPv4,
/// TCP, with the hall's end on a driver port.
fn is_control(dir: Direction, packet: &[u8]) -> bool {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 6 {
        return false;
    }
    // A later fragment carries no ports.
    let fragment_offset = u16::from_be_bytes([packet[6], packet[7]]) & 0x1fff;
    if fragment_offset != 0 {
        return false;
    }
    let header = usize::from(packet[0] & 0x0f) * 4;
    let Some(ports) = packet.get(header..header + 4) else {
        return false;
    };
    let (src, dst) = (
        u16::from_be_bytes([ports[0], ports[1]]),
        u16::from_be_bytes([ports[2], ports[3]]),
    );
    let hall_port = match dir {
        Direction::ToHall => dst,
        Direction::FromHall => src,
    };
    DRIVER_PORTS.contains(&hall_port)
}

/// Reads packets arriving at one device and puts them on the line (or drops them).
fn receive(shared: &Shared, dir: Direction, rx: tun::Reader) {
    let shaper = &shared.shapers[dir.index()];
    let counters = &shaper.counters;
    let mut buf = vec![0u8; MTU + 64];
    while !shared.stop.load(Ordering::Relaxed) {
        let len = match rx.recv_timeout(&mut buf, POLL) {
            Ok(len) => len,
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                continue;
            }
            Err(e) => {
                if !shared.stop.load(Ordering::Relaxed) {
                    eprintln!("impair: reading {dir:?}: {e}; relay stops");
                }
                return;
            }
        };
        let packet = &buf[..len];
        let now = Instant::now();
        let mut line = shaper.lock();
        if is_control(dir, packet) {
            bump(&counters.control_packets, 1);
            line.control.push_back(packet.to_vec());
            shaper.ready.notify_all();
        } else if shared.cut.load(Ordering::SeqCst) {
            bump(&counters.cut_drops, 1);
        } else if let Some(due) = line.admit(now, len, counters) {
            line.pending.push_back(Pending {
                due,
                packet: packet.to_vec(),
            });
            shaper.ready.notify_all();
        }
    }
}

/// Hands packets to the other device when they are due.
fn deliver(shared: &Shared, dir: Direction, mut tx: tun::Writer) {
    let shaper = &shared.shapers[dir.index()];
    let counters = &shaper.counters;
    let mut line = shaper.lock();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        if let Some(packet) = line.control.pop_front() {
            drop(line);
            let _ = tx.write(&packet);
            line = shaper.lock();
            continue;
        }
        let now = Instant::now();
        let wait = match line.pending.front() {
            Some(p) if p.due <= now => None,
            Some(p) => Some((p.due - now).min(POLL)),
            None => Some(POLL),
        };
        if let Some(wait) = wait {
            line = shaper
                .ready
                .wait_timeout(line, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            continue;
        }
        let Some(p) = line.pending.pop_front() else {
            continue;
        };
        if shared.cut.load(Ordering::SeqCst) {
            bump(&counters.cut_drops, 1);
            continue;
        }
        // Written without the lock: the receiving side goes on meanwhile.
        drop(line);
        match tx.write(&p.packet) {
            Ok(_) => {
                bump(&counters.passed_packets, 1);
                bump(&counters.passed_bytes, p.packet.len() as u64);
            }
            // The kernel refused it (the namespace going away, say): as lost.
            Err(_) => bump(&counters.loss_drops, 1),
        }
        line = shaper.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(setting: Impairment) -> Line {
        let now = Instant::now();
        Line {
            setting,
            busy_until: now,
            last_due: now,
            rng: StdRng::seed_from_u64(7),
            pending: VecDeque::new(),
            control: VecDeque::new(),
        }
    }

    #[test]
    fn the_queue_holds_200_ms_at_the_rate_and_at_least_two_packets() {
        let ms = Duration::from_millis;
        assert_eq!(
            Impairment::new(256_000, ms(0), 0.0).queue_limit(),
            Some(6400)
        );
        assert_eq!(
            Impairment::new(64_000, ms(0), 0.0).queue_limit(),
            Some(3000)
        );
        assert_eq!(Impairment::default().queue_limit(), None);
    }

    #[test]
    fn a_burst_is_serialised_at_the_rate_and_the_rest_dropped() {
        let counters = AtomicCounters::default();
        // 80 kbit/s: a 1,000-byte packet takes 100 ms; the queue holds 3,000 bytes.
        let mut l = line(Impairment::new(80_000, Duration::from_millis(150), 0.0));
        let t0 = Instant::now();
        let dues: Vec<_> = (0..5).map(|_| l.admit(t0, 1000, &counters)).collect();
        let ms = |d: Option<Instant>| d.map(|d| (d - t0).as_millis());
        assert_eq!(ms(dues[0]), Some(250));
        assert_eq!(ms(dues[1]), Some(350));
        assert_eq!(ms(dues[2]), Some(450));
        // 3,000 bytes queued: no room for a fourth.
        assert_eq!(dues[3], None);
        assert_eq!(counters.read().queue_drops, 2);
    }

    #[test]
    fn loss_follows_the_seed() {
        let counters = AtomicCounters::default();
        let mut l = line(Impairment {
            loss: 0.05,
            ..Impairment::default()
        });
        let t0 = Instant::now();
        let passed = (0..10_000)
            .filter(|_| l.admit(t0, 100, &counters).is_some())
            .count();
        let lost = 10_000 - passed;
        assert!((400..600).contains(&lost), "{lost} of 10,000 lost at 5 %");
        assert_eq!(counters.read().loss_drops, lost as u64);
    }

    #[test]
    fn driver_connections_are_control_traffic() {
        let mut packet = vec![0u8; 40];
        packet[0] = 0x45;
        packet[9] = 6;
        packet[20..22].copy_from_slice(&40000u16.to_be_bytes());
        packet[22..24].copy_from_slice(&9515u16.to_be_bytes());
        assert!(is_control(Direction::ToHall, &packet));
        assert!(!is_control(Direction::FromHall, &packet));
        packet[9] = 17; // UDP
        assert!(!is_control(Direction::ToHall, &packet));
    }
}
