//! Test helpers: synthetic Opus tones, real VP8 frames (encoded by FFmpeg's libvpx),
//! and FFprobe as the independent reader of what the recorder wrote.
#![allow(dead_code)]

use std::f32::consts::PI;
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;

/// A sine tone, 20 ms of 48 kHz mono at a time, Opus-encoded.
pub struct Tone {
    enc: opus::Encoder,
    step: f32,
    phase: f32,
    pub amplitude: f32,
}

impl Tone {
    pub fn new(freq: f32, amplitude: f32) -> Tone {
        let enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio)
            .expect("opus encoder");
        Tone {
            enc,
            step: 2.0 * PI * freq / 48_000.0,
            phase: 0.0,
            amplitude,
        }
    }

    pub fn next(&mut self) -> Bytes {
        let mut pcm = [0i16; 960];
        for s in pcm.iter_mut() {
            *s = (self.phase.sin() * self.amplitude * f32::from(i16::MAX)) as i16;
            self.phase = (self.phase + self.step) % (2.0 * PI);
        }
        Bytes::from(self.enc.encode_vec(&pcm, 1500).expect("encode"))
    }
}

/// What FFprobe says about a file.
#[derive(Debug)]
pub struct Probe {
    pub codec: String,
    pub duration: f64,
    pub width: u64,
}

pub fn ffprobe(path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (Debian package ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let stream = &v["streams"][0];
    let duration = v["format"]["duration"]
        .as_str()
        .or(stream["duration"].as_str())
        .and_then(|d| d.parse().ok())
        .unwrap_or(-1.0);
    Probe {
        codec: stream["codec_name"].as_str().unwrap_or("").to_owned(),
        duration,
        width: stream["width"].as_u64().unwrap_or(0),
    }
}

/// Decodes every frame with FFprobe: how many decoded (a delta frame without its
/// keyframe does not), and the error output (empty when clean).
pub fn decoded_frames(path: &Path) -> (usize, String) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_frames", "-of", "csv"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("frame,"))
        .count();
    (frames, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The file decoded to 48 kHz mono PCM by FFmpeg.
pub fn decode_pcm(path: &Path) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Power of `freq` in `pcm` (Goertzel), as a share of a full-scale sine's.
pub fn tone_power(pcm: &[i16], freq: f32) -> f32 {
    let w = 2.0 * PI * freq / 48_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in pcm {
        let x = f32::from(x) / 32768.0;
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (pcm.len() as f32 * pcm.len() as f32 / 4.0).max(1.0) / 0.5
}

/// Real VP8 frames: FFmpeg's libvpx encodes its test pattern (keyframe every `gop`).
pub fn vp8_frames(dir: &Path, size: &str, frames: u32, gop: u32) -> Vec<Vec<u8>> {
    let path = dir.join(format!("src-{size}.ivf"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={size}:rate=25"))
        .args([
            "-frames:v",
            &frames.to_string(),
            "-c:v",
            "libvpx",
            "-b:v",
            "300k",
        ])
        .args([
            "-g",
            &gop.to_string(),
            "-keyint_min",
            &gop.to_string(),
            "-auto-alt-ref",
            "0",
            "-lag-in-frames",
            "0",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    read_ivf(&std::fs::read(&path).expect("read ivf"))
}

fn read_ivf(data: &[u8]) -> Vec<Vec<u8>> {
    let header_len = u16::from_le_bytes([data[6], data[7]]) as usize;
    let mut frames = Vec::new();
    let mut at = header_len;
    while at + 12 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        at += 12;
        frames.push(data[at..at + len].to_vec());
        at += len;
    }
    frames
}

/// RTP payloads of one frame (RFC 7741), as a browser would send them.
pub fn packetize(frame: &[u8]) -> Vec<Bytes> {
    let mut p = Vp8Payloader::default();
    p.payload(1100, &Bytes::copy_from_slice(frame))
        .expect("payload")
}
