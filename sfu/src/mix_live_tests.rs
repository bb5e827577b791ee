use super::*;
use crate::api::ParticipantId;
use std::f32::consts::PI;

/// A sine tone, 20 ms Opus frames.
struct Tone {
    enc: opus::Encoder,
    step: f32,
    phase: f32,
}

impl Tone {
    fn new(freq: f32) -> Tone {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                .unwrap();
        enc.set_bitrate(opus::Bitrate::Bits(48_000)).unwrap();
        Tone {
            enc,
            step: 2.0 * PI * freq / SAMPLE_RATE as f32,
            phase: 0.0,
        }
    }

    fn next(&mut self) -> Bytes {
        let mut pcm = [0i16; FRAME_SAMPLES];
        for s in pcm.iter_mut() {
            *s = (self.phase.sin() * 0.2 * 32767.0) as i16;
            self.phase = (self.phase + self.step) % (2.0 * PI);
        }
        let mut out = vec![0u8; 1500];
        let n = self.enc.encode(&pcm, &mut out).unwrap();
        out.truncate(n);
        Bytes::from(out)
    }
}

/// Goertzel power of `freq` (a full-scale sine gives about 0.25).
fn power(pcm: &[f32], freq: f32) -> f32 {
    let w = 2.0 * PI * freq / SAMPLE_RATE as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in pcm {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = pcm.len() as f32;
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

fn decode(frames: &[MixFrame]) -> Vec<f32> {
    let mut dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).unwrap();
    let mut buf = vec![0i16; 5760];
    let mut pcm = Vec::new();
    for f in frames {
        let n = dec.decode(&f.payload, &mut buf, false).unwrap();
        pcm.extend(buf[..n].iter().map(|&s| s as f32 / 32768.0));
    }
    pcm
}

const TONES: [(&str, f32); 3] = [("a-mic", 440.0), ("b-mic", 660.0), ("c-mic", 990.0)];

/// Three microphones for `ms` of virtual time, advanced every 20 ms.
fn run(live: &mut LiveMixer, ms: u64) -> Vec<MixFrame> {
    let mut tones: Vec<Tone> = TONES.iter().map(|(_, f)| Tone::new(*f)).collect();
    let mut out = Vec::new();
    for k in 0..ms / 20 {
        let at = Duration::from_millis(k * 20 + 3);
        for (i, (track, _)) in TONES.iter().enumerate() {
            let payload = tones[i].next();
            live.push(
                &TrackId((*track).into()),
                1000 + i as u32,
                k as u32 * 960,
                payload,
                at,
            )
            .unwrap();
        }
        live.advance(Duration::from_millis(k * 20 + 20), &mut out);
    }
    out
}

#[test]
fn each_mix_holds_its_sources_and_a_mix_minus_leaves_one_out() {
    let mut live = LiveMixer::new(LIVE_JITTER);
    let without_c = MixKey::Without(ParticipantId("c".into()));
    live.set_plan(&[
        MixSpec {
            key: MixKey::Everyone,
            exclude: vec![],
        },
        MixSpec {
            key: without_c.clone(),
            exclude: vec![TrackId("c-mic".into())],
        },
    ])
    .unwrap();
    let out = run(&mut live, 1000);
    let of =
        |key: &MixKey| -> Vec<MixFrame> { out.iter().filter(|f| &f.key == key).cloned().collect() };
    let (all, minus) = (of(&MixKey::Everyone), of(&without_c));
    // 50 slots in a second, less those still in the 40 ms jitter wait.
    assert!((46..=48).contains(&all.len()), "{} frames", all.len());
    assert_eq!(all.len(), minus.len());
    // Each mix is its own continuous stream.
    for w in all.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(960));
    }
    assert_ne!(all[0].ssrc, minus[0].ssrc);
    // The last half second, past the decoders' start.
    let tail = |pcm: Vec<f32>| pcm[pcm.len() - 24_000..].to_vec();
    let (all, minus) = (tail(decode(&all)), tail(decode(&minus)));
    for (_, f) in TONES {
        assert!(
            power(&all, f) > 1e-3,
            "{f} Hz in the full mix: {}",
            power(&all, f)
        );
    }
    assert!(power(&minus, 440.0) > 1e-3 && power(&minus, 660.0) > 1e-3);
    let c_in = power(&minus, 990.0);
    assert!(
        c_in < power(&minus, 440.0) / 100.0,
        "c's own tone in its mix: {c_in} against {}",
        power(&minus, 440.0)
    );
}

#[test]
fn a_slot_is_mixed_after_the_live_jitter_wait_only() {
    let mut live = LiveMixer::new(LIVE_JITTER);
    live.set_plan(&[MixSpec {
        key: MixKey::Everyone,
        exclude: vec![],
    }])
    .unwrap();
    let mut tone = Tone::new(440.0);
    let mut out = Vec::new();
    live.push(
        &TrackId("a".into()),
        1,
        0,
        tone.next(),
        Duration::from_millis(5),
    )
    .unwrap();
    live.advance(Duration::from_millis(59), &mut out);
    assert!(out.is_empty(), "mixed before its jitter wait");
    live.advance(Duration::from_millis(60), &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].level < 127, "the tone's level {}", out[0].level);
}

#[test]
fn a_plan_change_keeps_the_mixes_that_stay() {
    let mut live = LiveMixer::new(LIVE_JITTER);
    let everyone = MixSpec {
        key: MixKey::Everyone,
        exclude: vec![],
    };
    live.set_plan(std::slice::from_ref(&everyone)).unwrap();
    let first = run(&mut live, 200);
    let other = MixSpec {
        key: MixKey::Without(ParticipantId("a".into())),
        exclude: vec![TrackId("a-mic".into())],
    };
    live.set_plan(&[everyone, other]).unwrap();
    assert_eq!(live.mixes(), 2);
    let mut out = Vec::new();
    live.advance(Duration::from_millis(400), &mut out);
    let next = out.iter().find(|f| f.key == MixKey::Everyone).unwrap();
    let last = first.last().unwrap();
    assert_eq!(
        (next.ssrc, next.sequence),
        (last.ssrc, last.sequence.wrapping_add(1))
    );
    live.set_plan(&[]).unwrap();
    assert_eq!(live.mixes(), 0);
}
