//! The main-stage video file: real VP8 (FFmpeg's libvpx) sent as RTP, checked with
//! FFprobe and by decoding it with FFmpeg.

mod common;

use std::fs::File;
use std::time::Duration;

use bridge_recorder::{RecorderError, SourceId, VideoPacket, VideoRecorder};
use common::{decoded_frames, ffprobe, packetize, vp8_frames};

/// Sends frames at 25 fps as RTP from one source.
struct Camera {
    source: SourceId,
    ssrc: u32,
    seq: u16,
    ts: u32,
    frames: Vec<Vec<u8>>,
    next: usize,
}

impl Camera {
    fn new(source: &str, ssrc: u32, frames: Vec<Vec<u8>>) -> Camera {
        Camera {
            source: source.into(),
            ssrc,
            seq: 7,
            ts: 90_000,
            frames,
            next: 0,
        }
    }
    /// The packets of the next frame, arriving at `at`.
    fn frame(&mut self, at: Duration) -> Vec<VideoPacket> {
        let frame = &self.frames[self.next % self.frames.len()];
        self.next += 1;
        let payloads = packetize(frame);
        let n = payloads.len();
        let out = payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let p = VideoPacket {
                    source: self.source.clone(),
                    ssrc: self.ssrc,
                    sequence: self.seq,
                    timestamp: self.ts,
                    marker: i + 1 == n,
                    payload,
                    arrival: at,
                };
                self.seq = self.seq.wrapping_add(1);
                p
            })
            .collect();
        self.ts = self.ts.wrapping_add(3600);
        out
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// The stage moves from one camera to another mid-frame-group: the file switches at
/// the new camera's keyframe, decodes without an error, and lasts the wall time.
#[test]
fn switches_source_at_a_keyframe() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Camera::new("alice", 1, vp8_frames(dir.path(), "320x240", 50, 25));
    let mut bob = Camera::new("bob", 2, vp8_frames(dir.path(), "160x120", 50, 25));
    let path = dir.path().join("stage.ivf");
    let mut rec = VideoRecorder::new(File::create(&path).unwrap()).unwrap();
    rec.select("alice".into(), ms(0));
    assert_eq!(rec.take_keyframe_requests(), vec![SourceId::from("alice")]);
    let mut requested_bob = false;
    for i in 0..150u64 {
        let t = ms(i * 40);
        if i == 60 {
            // Bob takes the stage between two of his keyframes (they come every 25).
            rec.select("bob".into(), t);
        }
        for p in alice.frame(t).into_iter().chain(bob.frame(t)) {
            rec.push(p).unwrap();
        }
        requested_bob |= rec
            .take_keyframe_requests()
            .contains(&SourceId::from("bob"));
        if i < 75 {
            assert_eq!(rec.current(), Some(&"alice".into()), "frame {i}");
        }
        rec.advance(t).unwrap();
    }
    assert!(requested_bob, "a keyframe is asked of the new speaker");
    assert_eq!(rec.current(), Some(&"bob".into()));
    let (frames, _) = rec.written();
    // Alice's frames 0..=75 (her 75th arrives just before Bob's keyframe), Bob's 75..150.
    assert_eq!(
        frames,
        76 + 75,
        "every frame of the followed source is written"
    );
    rec.finish(ms(6_000)).unwrap();

    let probe = ffprobe(&path);
    assert_eq!(probe.codec, "vp8");
    assert_eq!(probe.width, 320);
    assert!(
        (probe.duration - 6.0).abs() < 0.2,
        "duration {}",
        probe.duration
    );
    assert_eq!(decoded_frames(&path), (151, String::new()));
}

/// A lost packet drops frames until the next keyframe (asked for), so the file never
/// holds a frame that cannot be decoded.
#[test]
fn loss_waits_for_the_next_keyframe() {
    let dir = tempfile::tempdir().unwrap();
    let mut cam = Camera::new("alice", 1, vp8_frames(dir.path(), "320x240", 50, 25));
    let path = dir.path().join("lossy.ivf");
    let mut rec = VideoRecorder::new(File::create(&path).unwrap()).unwrap();
    rec.select("alice".into(), ms(0));
    rec.take_keyframe_requests();
    let mut asked = false;
    for i in 0..100u64 {
        let mut packets = cam.frame(ms(i * 40));
        if i == 30 {
            packets.remove(0);
        }
        for p in packets {
            rec.push(p).unwrap();
        }
        asked |= !rec.take_keyframe_requests().is_empty();
    }
    assert!(asked);
    let (frames, _) = rec.written();
    assert_eq!(
        frames,
        100 - (50 - 30),
        "frames 30..49 wait for the keyframe at 50"
    );
    rec.finish(ms(4_000)).unwrap();
    assert_eq!(decoded_frames(&path), (80, String::new()));
}

/// A camera that leaves and comes back (new SSRC, new sequence) restarts at a keyframe.
#[test]
fn rejoin_with_new_ssrc_restarts_at_keyframe() {
    let dir = tempfile::tempdir().unwrap();
    let frames = vp8_frames(dir.path(), "320x240", 50, 25);
    let path = dir.path().join("rejoin.ivf");
    let mut rec = VideoRecorder::new(File::create(&path).unwrap()).unwrap();
    rec.select("alice".into(), ms(0));
    let mut cam = Camera::new("alice", 1, frames.clone());
    for i in 0..40u64 {
        for p in cam.frame(ms(i * 40)) {
            rec.push(p).unwrap();
        }
    }
    let mut cam = Camera::new("alice", 9, frames);
    cam.next = 10; // comes back mid-group: frames 10..24 are deltas
    cam.seq = 40_000;
    for i in 50..100u64 {
        for p in cam.frame(ms(i * 40)) {
            rec.push(p).unwrap();
        }
    }
    assert_eq!(rec.written().0, 40 + (50 - 15));
    rec.finish(ms(4_000)).unwrap();
    assert_eq!(decoded_frames(&path), (75, String::new()));
}

/// Killed mid-meeting: the header, rewritten every second, still gives the duration.
#[test]
fn killed_recording_keeps_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let mut cam = Camera::new("alice", 1, vp8_frames(dir.path(), "320x240", 50, 25));
    let path = dir.path().join("killed.ivf");
    let mut rec = VideoRecorder::new(File::create(&path).unwrap()).unwrap();
    rec.select("alice".into(), ms(0));
    for i in 0..125u64 {
        let t = ms(i * 40);
        for p in cam.frame(t) {
            rec.push(p).unwrap();
        }
        rec.advance(t).unwrap();
    }
    let (written, _) = rec.written();
    std::mem::forget(rec); // no finish, no destructor: as if the process died
    let probe = ffprobe(&path);
    assert_eq!(probe.codec, "vp8");
    assert!(
        (probe.duration - 5.0).abs() <= 1.5,
        "duration {}",
        probe.duration
    );
    assert_eq!(decoded_frames(&path), (written as usize, String::new()));
}

#[test]
fn full_disk_is_a_clear_error() {
    let full = File::options().write(true).open("/dev/full").unwrap();
    match VideoRecorder::new(full) {
        Err(e @ RecorderError::DiskFull(_)) => assert!(e.to_string().contains("disk is full")),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("writing to a full disk succeeded"),
    }
}
