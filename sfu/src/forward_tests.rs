use super::*;
use bytes::Bytes;
use rtc::rtp::header::Extension;

fn packet(ssrc: u32, seq: u16, ts: u32, ext: &[(u8, u8)]) -> rtp::Packet {
    rtp::Packet {
        header: rtp::Header {
            version: 2,
            payload_type: 100,
            ssrc,
            sequence_number: seq,
            timestamp: ts,
            extension: !ext.is_empty(),
            extension_profile: if ext.is_empty() { 0 } else { 0xBEDE },
            extensions: ext
                .iter()
                .map(|&(id, v)| Extension {
                    id,
                    payload: Bytes::copy_from_slice(&[v]),
                })
                .collect(),
            ..Default::default()
        },
        payload: Bytes::from_static(b"payload"),
    }
}

const OUT: OutParams = OutParams {
    ssrc: 0xABCD,
    payload_type: 96,
    audio_level_id: Some(4),
};

#[test]
fn rewriting_is_continuous_across_a_source_switch() {
    let t0 = Instant::now();
    let mut rw = Rewriter::new(OUT, 90_000, 1000, 50_000);
    let mut out = Vec::new();
    // Source A: 10 packets, 33 ms apart (3000 ticks at 90 kHz).
    for i in 0..10u16 {
        let mut p = packet(0x1111, 40_000 + i, 7_000_000 + u32::from(i) * 3000, &[]);
        rw.rewrite(&mut p.header, t0 + Duration::from_millis(33 * u64::from(i)));
        out.push(p.header);
    }
    // Source B starts 100 ms after A's last packet, with unrelated numbering.
    let switch_at = t0 + Duration::from_millis(33 * 9 + 100);
    for i in 0..5u16 {
        let mut p = packet(
            0x2222,
            65_534u16.wrapping_add(i),
            123 + u32::from(i) * 3000,
            &[],
        );
        rw.rewrite(
            &mut p.header,
            switch_at + Duration::from_millis(33 * u64::from(i)),
        );
        out.push(p.header);
    }
    assert!(
        out.iter()
            .all(|h| h.ssrc == OUT.ssrc && h.payload_type == 96)
    );
    assert_eq!(out[0].sequence_number, 1000);
    for w in out.windows(2) {
        assert_eq!(w[1].sequence_number, w[0].sequence_number.wrapping_add(1));
        assert!(w[1].timestamp.wrapping_sub(w[0].timestamp) < 0x8000_0000);
    }
    // The gap in timestamps at the switch is the 100 ms of wall time.
    let gap = out[10].timestamp.wrapping_sub(out[9].timestamp);
    assert_eq!(gap, 9000);
    // And back to source A: still continuous.
    let mut p = packet(0x1111, 40_010, 7_000_000 + 10 * 3000, &[]);
    rw.rewrite(&mut p.header, switch_at + Duration::from_millis(200));
    assert_eq!(
        p.header.sequence_number,
        out[14].sequence_number.wrapping_add(1)
    );
}

#[test]
fn reordered_packets_keep_their_place_and_map_back_for_nack() {
    let t0 = Instant::now();
    let mut rw = Rewriter::new(OUT, 48_000, 10, 0);
    let mut a = packet(7, 500, 0, &[]);
    let mut c = packet(7, 502, 1920, &[]);
    let mut b = packet(7, 501, 960, &[]);
    rw.rewrite(&mut a.header, t0);
    rw.rewrite(&mut c.header, t0);
    rw.rewrite(&mut b.header, t0);
    assert_eq!(
        [
            a.header.sequence_number,
            b.header.sequence_number,
            c.header.sequence_number
        ],
        [10, 11, 12]
    );
    assert_eq!(rw.source_seq(11), Some((7, 501)));
}

#[test]
fn a_nack_from_before_a_layer_switch_is_not_answered_with_the_new_layer() {
    let t0 = Instant::now();
    let mut rw = Rewriter::new(OUT, 90_000, 100, 0);
    let mut a = packet(7, 500, 0, &[]);
    rw.rewrite(&mut a.header, t0);
    let mut b = packet(8, 9000, 0, &[]);
    rw.rewrite(&mut b.header, t0);
    assert_eq!(b.header.sequence_number, 101);
    assert_eq!(rw.source_seq(101), Some((8, 9000)));
    assert_eq!(rw.source_seq(100), None, "sent from the previous source");
}

#[test]
fn only_the_audio_level_extension_survives_under_the_subscribers_id() {
    let mut rw = Rewriter::new(OUT, 48_000, 0, 0);
    rw.set_in_audio_level_id(Some(1));
    let mut p = packet(9, 1, 1, &[(1, 0x85), (3, 0xFF), (5, 0x01)]);
    rw.rewrite(&mut p.header, Instant::now());
    assert_eq!(p.header.extensions.len(), 1);
    assert_eq!(p.header.extensions[0].id, 4);
    assert_eq!(p.header.extensions[0].payload.as_ref(), &[0x85]);

    let mut rw = Rewriter::new(
        OutParams {
            audio_level_id: None,
            ..OUT
        },
        48_000,
        0,
        0,
    );
    rw.set_in_audio_level_id(Some(1));
    let mut p = packet(9, 1, 1, &[(1, 0x85)]);
    rw.rewrite(&mut p.header, Instant::now());
    assert!(!p.header.extension && p.header.extensions.is_empty());
}

#[test]
fn forwarded_copies_keep_the_payload_and_rewrite_the_header() {
    let t0 = Instant::now();
    let mut rw = Rewriter::new(OUT, 48_000, 7, 1000);
    rw.set_in_audio_level_id(Some(1));
    let mut src = packet(9, 500, 960, &[(3, 0xFF), (1, 0x85)]);
    src.header.marker = true;
    src.header.extensions_padding = 2;
    let out = rw.forward(&src, t0);
    assert_eq!(out.payload, src.payload);
    assert_eq!(
        (
            out.header.ssrc,
            out.header.payload_type,
            out.header.sequence_number
        ),
        (OUT.ssrc, 96, 7)
    );
    assert!(out.header.marker);
    assert_eq!(out.header.extensions.len(), 1);
    assert_eq!(out.header.extensions[0].id, 4);
    assert_eq!(out.header.extensions_padding, 0);
    // The source is untouched (other subscribers get their own copies from it).
    assert_eq!(src.header.ssrc, 9);
    assert_eq!(src.header.extensions.len(), 2);
    // It marshals to a well-formed packet.
    use rtc::shared::marshal::{Marshal, Unmarshal};
    let bytes = out.marshal().unwrap();
    let back = rtp::Packet::unmarshal(&mut &bytes[..]).unwrap();
    assert_eq!(back.header.extensions[0].payload.as_ref(), &[0x85]);
}

#[test]
fn fifty_keyframe_requests_in_one_second_forward_one() {
    let t0 = Instant::now();
    let mut gate = KeyframeGate::new(Duration::from_secs(1));
    let mut forwarded = 0;
    for i in 0..50u64 {
        let now = t0 + Duration::from_millis(i * 19); // 0 .. 931 ms
        if gate.request(now) {
            forwarded += 1;
        }
        if gate.poll(now) {
            forwarded += 1;
        }
    }
    assert_eq!(forwarded, 1);
    assert!(!gate.poll(t0 + Duration::from_millis(999)));
    // The requests that came in during the second are answered once it is over.
    assert_eq!(gate.next_deadline(), Some(t0 + Duration::from_secs(1)));
    assert!(gate.poll(t0 + Duration::from_secs(1)));
    assert!(!gate.poll(t0 + Duration::from_secs(3)));
    assert_eq!(gate.next_deadline(), None);
}

#[test]
fn nacks_are_answered_from_the_cache_with_a_cap() {
    let mut cache = PacketCache::new(500); // rounds to 512
    for seq in 0..1000u16 {
        cache.insert(&packet(5, seq, u32::from(seq), &[]));
    }
    assert!(cache.get(5, 100).is_none(), "evicted by newer packets");
    assert_eq!(
        cache.get(5, 900).map(|p| p.header.sequence_number),
        Some(900)
    );
    assert!(cache.get(6, 900).is_none(), "another source's packet");

    let mut limiter = NackLimiter::new(3, 256);
    let sent = (0..10).filter(|_| limiter.allow(900)).count();
    assert_eq!(sent, 3);
    assert!(limiter.allow(901));
    // Sequence numbers sharing a slot do not inherit each other's count.
    assert!(limiter.allow(900 + 256));
}

#[test]
fn a_paused_source_resumes_without_a_sequence_gap() {
    let t0 = Instant::now();
    let mut rw = Rewriter::new(OUT, 48_000, 500, 0);
    let mut last = (0, 0);
    for i in 0..5u16 {
        let mut h = packet(7, 100 + i, 960 * u32::from(i), &[]).header;
        rw.rewrite(&mut h, t0 + Duration::from_millis(20 * u64::from(i)));
        last = (h.sequence_number, h.timestamp);
    }
    // Muted by the chair for 10 s: 500 packets never forwarded; then the same source.
    rw.pause();
    let resumed_at = t0 + Duration::from_millis(80 + 10_000);
    let mut h = packet(7, 605, 960 * 505, &[]).header;
    rw.rewrite(&mut h, resumed_at);
    assert_eq!(
        h.sequence_number,
        last.0.wrapping_add(1),
        "no gap to report as loss"
    );
    // The timestamp moved on by the silence (10 s at 48 kHz), not by 505 frames.
    assert_eq!(h.timestamp, last.1.wrapping_add(480_000));
}
