use super::*;

const V: u32 = 1;
const W: u32 = 2;

fn ms(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Pushes a packet (its number as the item) and returns what left at once.
fn push(p: &mut Pacer<u32>, at: Instant, n: u32, ssrc: u32, keyframe: bool) -> Option<u32> {
    p.push(at, n, ssrc, 1_000, keyframe)
}

/// Drains what may leave at `at`.
fn drain(p: &mut Pacer<u32>, at: Instant) -> Vec<u32> {
    std::iter::from_fn(|| p.poll(at)).collect()
}

#[test]
fn a_quiet_link_sends_video_at_once() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1_000_000.0);
    // 8 kbit every 40 ms is 200 kbit/s: far under the rate, nothing waits.
    for i in 0..25u32 {
        let at = ms(t0, 40 * u64::from(i));
        assert_eq!(push(&mut p, at, i, V, false), Some(i), "packet {i}");
    }
    assert_eq!(p.queued(), 0);
    assert_eq!(p.next_release(), None);
}

#[test]
fn a_burst_is_spread_at_the_rate() {
    let t0 = Instant::now();
    // 400 kbit/s: one 8-kbit packet per 20 ms.
    let mut p = Pacer::new(400_000.0);
    let sent: Vec<Option<u32>> = (0..10).map(|i| push(&mut p, t0, i, V, i == 0)).collect();
    assert_eq!(sent[0], Some(0), "the first goes at once");
    assert!(sent[1..].iter().all(Option::is_none), "{sent:?}");
    let mut released = vec![0];
    let mut at = t0;
    while let Some(next) = p.next_release() {
        assert!(next >= at, "release times move forward");
        at = next;
        released.extend(drain(&mut p, at));
    }
    assert_eq!(released, (0..10).collect::<Vec<_>>(), "in order, none lost");
    // Ten packets of 8 kbit at 400 kbit/s: the last leaves about 180 ms later.
    let took = at.duration_since(t0);
    assert!(
        (Duration::from_millis(170)..=Duration::from_millis(190)).contains(&took),
        "{took:?}"
    );
    assert!(!p.congested(at));
}

#[test]
fn audio_is_never_held_but_the_video_after_it_waits() {
    let t0 = Instant::now();
    let mut p = Pacer::new(400_000.0);
    // Audio worth 40 ms of the rate leaves now...
    p.charge(t0, 2_000);
    // ...so the next video packet waits for it.
    assert_eq!(push(&mut p, t0, 1, V, false), None);
    let next = p.next_release().unwrap();
    assert!(next >= ms(t0, 39) && next <= ms(t0, 41), "{next:?}");
    assert_eq!(drain(&mut p, ms(t0, 20)), Vec::<u32>::new());
    assert_eq!(drain(&mut p, next), vec![1]);
    // However much audio there is, the debt is bounded: video waits at most MAX_DEBT.
    for _ in 0..100 {
        p.charge(next, 1_000);
    }
    assert_eq!(push(&mut p, next, 2, V, false), None);
    let wait = p.next_release().unwrap().duration_since(next);
    assert!(wait <= MAX_DEBT + Duration::from_millis(25), "{wait:?}");
}

#[test]
fn video_held_too_long_is_skipped_to_its_next_keyframe() {
    let t0 = Instant::now();
    // 50 kbit/s (the floor) against 400 kbit/s of video: it cannot fit.
    let mut p = Pacer::new(10_000.0);
    assert_eq!(p.rate(), 50_000.0);
    let mut out = Vec::new();
    for n in 0..30u32 {
        let at = ms(t0, 20 * u64::from(n));
        out.extend(push(&mut p, at, n, V, false));
        out.extend(drain(&mut p, at));
    }
    // 600 ms in: the head waited longer than MAX_HOLD, the stream is dropped.
    let at = ms(t0, 600);
    out.extend(drain(&mut p, at));
    assert_eq!(p.queued(), 0, "the late stream is dropped");
    assert!(p.dropped() > 0);
    assert!(p.congested(at), "and the link reported congested");
    assert!(p.skipping());
    // Its delta frames are skipped; its keyframe starts it again.
    assert_eq!(push(&mut p, ms(t0, 620), 100, V, false), None);
    let dropped = p.dropped();
    assert_eq!(push(&mut p, ms(t0, 640), 101, V, false), None);
    assert_eq!(p.dropped(), dropped + 1, "still skipping");
    let key = push(&mut p, ms(t0, 660), 102, V, true);
    let rest = push(&mut p, ms(t0, 661), 103, V, false);
    let mut later = Vec::new();
    let mut at = ms(t0, 661);
    while let Some(next) = p.next_release() {
        at = next;
        later.extend(drain(&mut p, at));
    }
    assert!(!p.skipping());
    let sent: Vec<u32> = key.into_iter().chain(rest).chain(later).collect();
    assert_eq!(sent, vec![102, 103], "the keyframe and what follows it");
    // A second later, with nothing late, the congestion is over.
    assert!(!p.congested(at + SKIP_MEMORY));
    // What left before the drop left in order.
    assert!(out.windows(2).all(|w| w[0] < w[1]), "{out:?}");
}

#[test]
fn a_queued_keyframe_supersedes_the_late_backlog_of_its_stream_only() {
    let t0 = Instant::now();
    let mut p = Pacer::new(50_000.0);
    // Both streams queue behind the budget.
    push(&mut p, t0, 0, V, false);
    for i in 1..6u32 {
        push(&mut p, ms(t0, u64::from(i)), i, V, false);
        push(&mut p, ms(t0, u64::from(i)), 100 + i, W, false);
    }
    // 350 ms later the head is late; a keyframe of V arrives.
    let at = ms(t0, 350);
    assert!(p.congested(at));
    let before = p.dropped();
    assert_eq!(push(&mut p, at, 50, V, true), None);
    assert!(p.dropped() > before, "V's backlog dropped");
    let mut sent = Vec::new();
    let mut now = at;
    while let Some(next) = p.next_release() {
        now = next.max(now);
        sent.extend(drain(&mut p, now));
    }
    assert!(sent.contains(&50), "{sent:?}");
    assert!(
        !sent.iter().any(|&i| (1..6).contains(&i)),
        "no V packet before its keyframe: {sent:?}"
    );
}

#[test]
fn a_keyframe_at_the_head_goes_even_when_late() {
    let t0 = Instant::now();
    let mut p = Pacer::new(50_000.0);
    p.charge(t0, 100_000); // the budget deep in debt
    assert_eq!(push(&mut p, t0, 1, V, true), None);
    assert_eq!(push(&mut p, t0, 2, V, false), None);
    let at = ms(t0, 600);
    let sent = drain(&mut p, at);
    assert_eq!(sent.first(), Some(&1), "{sent:?}");
}

#[test]
fn the_link_word_round_trips() {
    for w in [
        LinkWord::default(),
        LinkWord {
            estimate: 300_000,
            twcc: true,
            congested: false,
            skipping: false,
        },
        LinkWord {
            estimate: 20_000_000,
            twcc: true,
            congested: true,
            skipping: true,
        },
    ] {
        assert_eq!(LinkWord::unpack(w.pack()), w);
    }
    assert_eq!(LinkWord::unpack(0), LinkWord::default());
}
