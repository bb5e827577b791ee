use super::*;

const Q: u64 = 150_000;
const H: u64 = 400_000;
const F: u64 = 1_200_000;

fn three(view: View, current: Option<usize>) -> Want {
    Want {
        view,
        rates: [Some(Q), Some(H), Some(F)],
        current,
    }
}

#[test]
fn the_view_decides_when_the_link_is_unknown() {
    let wants = [
        three(View::High, None),
        three(View::Low, None),
        three(View::Off, None),
        Want {
            view: View::High,
            rates: [Some(500_000), None, None],
            current: None,
        },
    ];
    assert_eq!(
        allocate(None, &wants),
        vec![Some(2), Some(0), None, Some(0)]
    );
}

#[test]
fn a_thin_link_gets_the_main_stage_at_the_lowest_layer_and_a_thinner_one_audio_only() {
    let wants = [three(View::High, Some(2)), three(View::Low, Some(0))];
    assert_eq!(allocate(Some(250_000), &wants), vec![Some(0), None]);
    assert_eq!(allocate(Some(90_000), &wants), vec![None, None]);
    assert_eq!(allocate(Some(5_000_000), &wants), vec![Some(2), Some(0)]);
}

#[test]
fn the_main_stage_is_served_first_and_thumbnails_take_what_is_left() {
    // 700 kbit/s: the main stage gets the half layer (full does not fit), then one
    // thumbnail fits, the second does not.
    let wants = [
        three(View::Low, Some(0)),
        three(View::High, Some(1)),
        three(View::Low, Some(0)),
    ];
    let got = allocate(Some(700_000), &wants);
    assert_eq!(got, vec![Some(0), Some(1), None]);
}

#[test]
fn moving_up_needs_headroom_staying_does_not() {
    // Exactly the full layer's rate (plus the audio reserve) left.
    let estimate = F + AUDIO_RESERVE_BPS;
    assert_eq!(
        allocate(Some(estimate), &[three(View::High, Some(2))]),
        vec![Some(2)]
    );
    assert_eq!(
        allocate(Some(estimate), &[three(View::High, Some(1))]),
        vec![Some(1)]
    );
}

/// The estimate falls, the subscription moves down at the next keyframe of the lower
/// layer; it rises, and it moves back up at a keyframe of the higher one. Packets of the
/// old layer are forwarded until then, so the picture never stops.
#[test]
fn estimate_down_then_up_switches_layers_at_keyframes_only() {
    let mut sw = LayerSwitch::default();
    let mut want = three(View::High, None);
    let t = allocate(Some(3_000_000), &[want])[0];
    assert_eq!(t, Some(2));
    assert!(sw.retarget(t), "a keyframe of the full layer is needed");
    assert!(!sw.on_packet(2, || false), "nothing before a keyframe");
    assert!(sw.on_packet(2, || true));
    assert!(!sw.on_packet(0, || true), "other layers are not forwarded");
    want.current = sw.current();

    // The link thins out.
    let t = allocate(Some(280_000), &[want])[0];
    assert_eq!(t, Some(0));
    assert!(sw.retarget(t));
    assert!(
        sw.on_packet(2, || false),
        "the old layer goes on until the switch"
    );
    assert!(!sw.on_packet(0, || false), "no switch on a delta frame");
    assert!(sw.on_packet(0, || true), "switched on the keyframe");
    assert!(!sw.on_packet(2, || true), "the old layer stops at once");
    assert_eq!(sw.current(), Some(0));
    want.current = sw.current();

    // It recovers.
    let t = allocate(Some(2_000_000), &[want])[0];
    assert_eq!(t, Some(2));
    assert!(sw.retarget(t));
    assert!(sw.on_packet(0, || false));
    assert!(sw.on_packet(2, || true));
    assert_eq!(sw.current(), Some(2));

    // Off stops at once and needs no keyframe.
    assert!(!sw.retarget(None));
    assert!(!sw.on_packet(2, || true));
}

#[test]
fn rids_map_to_layers() {
    assert_eq!(layer_of_rid("q"), Some(0));
    assert_eq!(layer_of_rid("h"), Some(1));
    assert_eq!(layer_of_rid("f"), Some(2));
    assert_eq!(layer_of_rid("r2"), Some(2));
    assert_eq!(layer_of_rid(""), Some(0));
    assert_eq!(layer_of_rid("zz"), None);
}

#[test]
fn the_rate_meter_measures_and_remembers() {
    let mut m = RateMeter::default();
    let t0 = Instant::now();
    for i in 0..=50u64 {
        m.add(1000, t0 + Duration::from_millis(i * 20));
    }
    // 50 packets of 1000 bytes in one second.
    assert_eq!(m.rate(), 400_000);
    // Silence: the last rate is kept.
    assert_eq!(m.rate(), 400_000);
}

#[test]
fn keyframes_are_recognised() {
    // VP8: S=1, PID=0, no extensions; frame tag with P=0 (key) or 1 (delta).
    assert!(is_keyframe_start("video/VP8", &[0x10, 0x00, 0x9d, 0x01]));
    assert!(!is_keyframe_start("video/VP8", &[0x10, 0x01]));
    assert!(
        !is_keyframe_start("video/VP8", &[0x00, 0x00]),
        "not a frame start"
    );
    // With X, I (15-bit picture id), L and T/K bytes before the frame tag.
    assert!(is_keyframe_start(
        "video/VP8",
        &[0x90, 0xE0, 0x80, 0x01, 0x05, 0x20, 0x00]
    ));
    assert!(
        !is_keyframe_start("video/VP8", &[0x90, 0xE0, 0x80]),
        "cut short"
    );
    // H.264: IDR, STAP-A with an SPS, FU-A start of an IDR; a non-IDR slice.
    assert!(is_keyframe_start("video/H264", &[0x65, 0x88]));
    assert!(is_keyframe_start(
        "video/H264",
        &[0x78, 0x00, 0x02, 0x67, 0x42]
    ));
    assert!(is_keyframe_start("video/H264", &[0x7C, 0x85]));
    assert!(!is_keyframe_start("video/H264", &[0x7C, 0x05]));
    assert!(!is_keyframe_start("video/H264", &[0x41, 0x9a]));
    assert!(!is_keyframe_start("audio/opus", &[0x10, 0x00]));
    assert!(!is_keyframe_start("video/VP8", &[]));
}

#[test]
fn a_layer_the_publisher_stopped_on_its_own_cannot_be_chosen() {
    let t0 = Instant::now();
    let later = |ms| t0 + Duration::from_millis(ms);
    // Sending: selectable.
    assert!(selectable(false, None, Some(later(900)), later(1000)));
    // Asked for, silent for longer than STALL: stalled.
    assert!(!selectable(false, None, Some(t0), later(1600)));
    // Never sent a packet and asked from the start: stalled once STALL has passed.
    assert!(!selectable(false, None, None, later(1600)));
    // Paused by us: still selectable (choosing it resumes it).
    assert!(selectable(true, None, Some(t0), later(60_000)));
    // Just resumed: the publisher gets STALL to start again.
    assert!(selectable(
        false,
        Some(later(59_000)),
        Some(t0),
        later(60_000)
    ));
    assert!(!selectable(
        false,
        Some(later(58_000)),
        Some(t0),
        later(60_000)
    ));
}

/// Feeds `raw` every 100 ms from `from` to `to` (ms after `t0`); returns the last held
/// value.
fn feed(h: &mut EstimateHold, t0: Instant, from: u64, to: u64, raw: u64, congested: bool) -> u64 {
    let mut out = 0;
    let mut ms = from;
    while ms <= to {
        out = h.update(t0 + Duration::from_millis(ms), raw, congested);
        ms += 100;
    }
    out
}

#[test]
fn the_estimate_counts_only_once_it_has_held() {
    let t0 = Instant::now();
    let mut h = EstimateHold::default();
    assert_eq!(feed(&mut h, t0, 0, 3_000, 300_000, false), 300_000);
    // It rises: not counted until it has held for HOLD.
    assert_eq!(
        h.update(t0 + Duration::from_millis(3_100), 900_000, false),
        300_000
    );
    let almost = 3_100 + HOLD.as_millis() as u64 - 100;
    assert_eq!(feed(&mut h, t0, 3_200, almost, 900_000, false), 300_000);
    assert_eq!(
        feed(&mut h, t0, almost + 100, almost + 200, 900_000, false),
        900_000
    );
    // A spike that does not last never counts (and its end is a fall: no rise for the
    // backoff).
    let t = almost + 300;
    assert_eq!(feed(&mut h, t0, t, t + 500, 2_000_000, false), 900_000);
    let thaw = t + 600 + BACKOFF_MIN.as_millis() as u64;
    assert_eq!(
        feed(&mut h, t0, t + 600, thaw - 100, 950_000, false),
        900_000
    );
    assert_eq!(feed(&mut h, t0, thaw, thaw + 100, 950_000, false), 950_000);
}

#[test]
fn a_fall_counts_at_once_and_freezes_rises_for_a_backoff_that_grows() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut h = EstimateHold::default();
    feed(&mut h, t0, 0, 3_000, 1_000_000, false);
    // GCC backs off to 0.85 × what arrived.
    assert_eq!(h.update(at(3_100), 400_000, false), 400_000, "down at once");
    // It climbs back at once, but nothing is counted during the backoff...
    let until = 3_100 + BACKOFF_MIN.as_millis() as u64;
    assert_eq!(
        feed(&mut h, t0, 3_200, until - 100, 1_000_000, false),
        400_000
    );
    // ...and after it, once the rise has held.
    assert_eq!(
        feed(&mut h, t0, until, until + 1_000, 1_000_000, false),
        1_000_000
    );
    // It falls again soon after (the layer taken up did not fit): a longer backoff.
    let second = until + 1_100;
    assert_eq!(h.update(at(second), 400_000, false), 400_000);
    let doubled = second + 2 * BACKOFF_MIN.as_millis() as u64;
    assert_eq!(
        feed(&mut h, t0, second + 100, doubled - 100, 1_000_000, false),
        400_000
    );
    assert_eq!(
        feed(&mut h, t0, doubled, doubled + 200, 1_000_000, false),
        1_000_000
    );
    // A fall long after the last one starts from the shortest backoff again.
    let late = doubled + 120_000;
    feed(&mut h, t0, doubled + 300, late, 1_000_000, false);
    assert_eq!(h.update(at(late + 100), 400_000, false), 400_000);
    let short = late + 100 + BACKOFF_MIN.as_millis() as u64;
    assert_eq!(
        feed(&mut h, t0, late + 200, short + 200, 1_000_000, false),
        1_000_000
    );
}

#[test]
fn a_congested_pacer_cuts_the_estimate_and_counts_as_a_fall() {
    let t0 = Instant::now();
    let mut h = EstimateHold::default();
    feed(&mut h, t0, 0, 3_000, 1_000_000, false);
    let cut = (1_000_000.0 * CONGESTED_SHARE) as u64;
    assert_eq!(
        h.update(t0 + Duration::from_millis(3_100), 1_000_000, true),
        cut
    );
    // Congestion over: still frozen at the cut for the backoff.
    let over = feed(
        &mut h,
        t0,
        3_200,
        3_000 + BACKOFF_MIN.as_millis() as u64,
        1_000_000,
        false,
    );
    assert_eq!(over, cut);
    let later = 3_200 + BACKOFF_MIN.as_millis() as u64;
    assert_eq!(
        feed(&mut h, t0, later, later + 500, 1_000_000, false),
        1_000_000
    );
}

/// The whole climb on a thin link: the main stage starts at the lowest layer, the
/// estimate rises (GCC raises it by time alone), the half layer is tried once it has
/// held with headroom, the link cannot carry it, the estimate falls, the stage goes
/// back down at once and is not tried again before the backoff.
#[test]
fn a_thin_link_tries_the_next_layer_once_and_backs_off() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut h = EstimateHold::default();
    let pick = |e: u64, current| allocate(Some(e), &[three(View::High, current)])[0];
    let mut current = Some(0);
    let mut raw = 300_000f64;
    let mut tried_at = None;
    let mut ms = 0;
    while ms < 20_000 {
        raw *= 1.08f64.powf(0.1); // GCC's increase, 8 % a second
        let e = h.update(at(ms), raw as u64, false);
        let next = pick(e, current);
        if next > current && tried_at.is_none() {
            tried_at = Some(ms);
            // The link (256 kbit/s) cannot carry the half layer: GCC backs off within
            // half a second, to 0.85 × what arrived.
            raw = 0.85 * 256_000.0;
            let e = h.update(at(ms + 500), raw as u64, false);
            assert_eq!(pick(e, next), Some(0), "down at once");
            current = Some(0);
            ms += 600;
            continue;
        }
        if tried_at.is_some() {
            assert_eq!(next, Some(0), "no second try at {ms} ms (estimate {e})");
        }
        current = next;
        ms += 100;
    }
    let tried_at = tried_at.expect("the half layer was tried");
    // H with headroom and the audio reserve needs 620 kbit/s: GCC reaches it after
    // about 9.5 s, and it must then hold for HOLD.
    assert!((9_000..=13_000).contains(&tried_at), "{tried_at}");
}
