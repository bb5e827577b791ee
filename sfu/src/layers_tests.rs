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
