//! The mixed audio file, checked with FFprobe/FFmpeg as independent readers.

mod common;

use std::fs::File;
use std::io::{self, Write};
use std::time::Duration;

use bridge_recorder::{AudioPacket, AudioRecorder, RecorderError, SourceId};
use common::{Tone, decode_pcm, ffprobe, tone_power};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

struct Sender {
    source: SourceId,
    ssrc: u32,
    seq: u16,
    ts: u32,
    tone: Tone,
}

impl Sender {
    fn new(source: &str, ssrc: u32, ts: u32, freq: f32) -> Sender {
        Sender {
            source: source.into(),
            ssrc,
            seq: 1000,
            ts,
            tone: Tone::new(freq, 0.3),
        }
    }
    fn next(&mut self, arrival: Duration) -> AudioPacket {
        let p = AudioPacket {
            source: self.source.clone(),
            ssrc: self.ssrc,
            sequence: self.seq,
            timestamp: self.ts,
            payload: self.tone.next(),
            arrival,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(960);
        p
    }
}

/// Two speakers, one of whom leaves at 2 s and comes back at 4 s with a new SSRC; the
/// network reorders pairs of packets, loses some and jitters by up to 60 ms. The file
/// lasts as long as the wall time and holds each tone exactly when it was sent.
#[test]
fn mix_follows_wall_time_through_loss_reordering_and_rejoin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.ogg");
    let mut rec = AudioRecorder::new(File::create(&path).unwrap()).unwrap();
    let mut a = Sender::new("alice", 1, 0xfff0_0000, 440.0);
    let mut b = Sender::new("bob", 2, 12345, 1000.0);
    let mut held: Option<AudioPacket> = None;
    for i in 0..300u64 {
        let t = i * 20;
        let jitter = (i * 37 % 4) * 20; // 0..60 ms
        let pa = a.next(ms(t + jitter));
        if i % 17 == 5 {
            // lost
        } else if i % 10 == 3 {
            held = Some(pa); // delivered after the next one
        } else {
            rec.push(pa).unwrap();
            if let Some(h) = held.take() {
                rec.push(h).unwrap();
            }
        }
        if i == 200 {
            b = Sender::new("bob", 22, 777, 1000.0); // rejoined: new SSRC, new clock
        }
        if !(100..200).contains(&i) {
            let pb = b.next(ms(t + 5));
            rec.push(pb).unwrap();
        }
        rec.advance(ms(t + 20)).unwrap();
    }
    let stats = rec.stats();
    rec.finish(ms(6_000)).unwrap();

    let probe = ffprobe(&path);
    assert_eq!(probe.codec, "opus");
    assert!(
        (probe.duration - 6.0).abs() < 0.1,
        "duration {}",
        probe.duration
    );
    assert_eq!(stats.late_packets, 0, "{stats:?}");

    let pcm = decode_pcm(&path);
    let at = |from: f64, to: f64| &pcm[(from * 48_000.0) as usize..(to * 48_000.0) as usize];
    let both = at(0.5, 1.5);
    assert!(tone_power(both, 440.0) > 0.05 && tone_power(both, 1000.0) > 0.05);
    let alone = at(2.5, 3.5);
    assert!(
        tone_power(alone, 440.0) > 0.05,
        "{}",
        tone_power(alone, 440.0)
    );
    assert!(
        tone_power(alone, 1000.0) < 0.005,
        "{}",
        tone_power(alone, 1000.0)
    );
    let back = at(4.5, 5.5);
    assert!(
        tone_power(back, 1000.0) > 0.05,
        "{}",
        tone_power(back, 1000.0)
    );
}

/// Before anyone speaks and after everyone left, the file is silence of the right length.
#[test]
fn silence_is_recorded_as_wall_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.ogg");
    let mut rec = AudioRecorder::new(File::create(&path).unwrap()).unwrap();
    for t in (0..3_000).step_by(100) {
        rec.advance(ms(t)).unwrap();
    }
    rec.finish(ms(3_000)).unwrap();
    let probe = ffprobe(&path);
    assert!(
        (probe.duration - 3.0).abs() < 0.1,
        "duration {}",
        probe.duration
    );
}

/// Loud speakers at once are limited, not clipped.
#[test]
fn loud_overlap_does_not_clip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loud.ogg");
    let mut rec = AudioRecorder::new(File::create(&path).unwrap()).unwrap();
    let mut senders: Vec<Sender> = (0..3)
        .map(|i| {
            let mut s = Sender::new(&format!("s{i}"), i, 0, 300.0 + 200.0 * i as f32);
            s.tone.amplitude = 0.8;
            s
        })
        .collect();
    for i in 0..100u64 {
        for s in senders.iter_mut() {
            let p = s.next(ms(i * 20));
            rec.push(p).unwrap();
        }
        rec.advance(ms(i * 20 + 20)).unwrap();
    }
    rec.finish(ms(2_000)).unwrap();
    let pcm = decode_pcm(&path);
    let clipped = pcm.iter().filter(|v| v.unsigned_abs() >= 32_700).count();
    assert!(
        clipped < pcm.len() / 1000,
        "{clipped} of {} samples at full scale",
        pcm.len()
    );
    assert!(pcm.iter().map(|v| v.unsigned_abs()).max().unwrap() > 16_000);
}

/// A server killed mid-meeting (the recorder dropped, never finished) leaves a file
/// the reader takes, losing at most about a second.
#[test]
fn killed_recording_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.ogg");
    let mut rec = AudioRecorder::new(File::create(&path).unwrap()).unwrap();
    let mut a = Sender::new("alice", 1, 0, 440.0);
    for i in 0..250u64 {
        rec.push(a.next(ms(i * 20))).unwrap();
        rec.advance(ms(i * 20 + 20)).unwrap();
    }
    std::mem::forget(rec); // no finish, no destructor: as if the process died
    let probe = ffprobe(&path);
    assert_eq!(probe.codec, "opus");
    assert!(
        (probe.duration - 5.0).abs() <= 1.5,
        "duration {}",
        probe.duration
    );
}

#[test]
fn full_disk_at_start_is_a_clear_error() {
    let full = File::options().write(true).open("/dev/full").unwrap();
    match AudioRecorder::new(full) {
        Err(RecorderError::DiskFull(_)) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("writing to a full disk succeeded"),
    }
}

/// A writer that accepts `room` bytes, then reports a full disk.
struct FillsUp {
    room: usize,
    data: Vec<u8>,
}

impl Write for FillsUp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.data.len() + buf.len() > self.room {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The disk fills up mid-meeting: the error says so once, the file stops, nothing
/// panics and later calls say the file is stopped.
#[test]
fn full_disk_mid_recording_stops_the_file() {
    let mut rec = AudioRecorder::new(FillsUp {
        room: 2_000,
        data: Vec::new(),
    })
    .unwrap();
    let mut a = Sender::new("alice", 1, 0, 440.0);
    let mut first_error = None;
    for i in 0..500u64 {
        rec.push(a.next(ms(i * 20))).unwrap();
        if let Err(e) = rec.advance(ms(i * 20 + 20)) {
            first_error = Some((i, e));
            break;
        }
    }
    let (at, e) = first_error.expect("the full disk is reported");
    assert!(matches!(e, RecorderError::DiskFull(_)), "{e}");
    assert!(e.to_string().contains("disk is full"));
    assert!(
        at > 20,
        "the error came at frame {at}, before the disk was full"
    );
    assert!(matches!(
        rec.advance(ms(20_000)),
        Err(RecorderError::Stopped)
    ));
}

/// A sender whose clock runs 3% slow falls behind the mix by 200 ms after about 7 s; the
/// source is placed again by arrival instead of losing everything after that.
#[test]
fn a_drifting_sender_clock_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drift.ogg");
    let mut rec = AudioRecorder::new(File::create(&path).unwrap()).unwrap();
    let mut a = Sender::new("alice", 1, 0, 440.0);
    for i in 0..600u64 {
        let mut p = a.next(ms(i * 20));
        p.timestamp = (i as u32).wrapping_mul(931); // 3% fewer ticks than 960 per 20 ms
        rec.push(p).unwrap();
        rec.advance(ms(i * 20 + 20)).unwrap();
    }
    let stats = rec.stats();
    rec.finish(ms(12_000)).unwrap();
    assert!(stats.late_packets <= 20, "{stats:?}");
    let pcm = decode_pcm(&path);
    for second in [2.0, 7.5, 10.5] {
        let window = &pcm[(second * 48_000.0) as usize..((second + 1.0) * 48_000.0) as usize];
        assert!(tone_power(window, 440.0) > 0.05, "no tone at {second} s");
    }
}
