use super::*;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;

const BATCH: Duration = Duration::from_millis(50);

/// One feedback batch of `n` packets of `size` bytes sent at `at`, each lost when
/// `lost(k)` says so, arriving 30 ms later on a link with no queue.
fn batch(
    at: Instant,
    t0: Instant,
    n: usize,
    size: usize,
    mut lost: impl FnMut() -> bool,
) -> Vec<PacketReport> {
    (0..n)
        .map(|k| {
            let departure = at + Duration::from_millis(5 * k as u64);
            let arrived = !lost();
            PacketReport {
                ssrc: 1,
                id: 0,
                rtp_sequence_number: 0,
                is_twcc: true,
                twcc_sequence_number: 0,
                size,
                arrived,
                departure,
                arrival: arrived.then(|| departure.duration_since(t0) + Duration::from_millis(30)),
                ecn: Default::default(),
            }
        })
        .collect()
}

/// A transport-cc feedback covering `reports` (the delta values do not matter here).
fn feedback(reports: &[PacketReport]) -> TransportLayerCc {
    use rtc::rtcp::transport_feedbacks::transport_layer_cc::{RecvDelta, SymbolTypeTcc};
    TransportLayerCc {
        packet_status_count: reports.len() as u16,
        recv_deltas: reports
            .iter()
            .filter(|r| r.arrived)
            .map(|_| RecvDelta {
                type_tcc_packet: SymbolTypeTcc::PacketReceivedSmallDelta,
                delta: 250,
            })
            .collect(),
        ..Default::default()
    }
}

/// Feeds `seconds` of 4-packet batches every 50 ms (about 160 kbit/s) and returns the
/// published estimate after each second. Every `feedback_lost`-th feedback (if any) is
/// lost on the way back: rtc's history then reports its packets as lost, and no
/// feedback counts them.
fn run(
    est: &mut SharedEstimate,
    reported: &ReportedLoss,
    t0: Instant,
    from: Duration,
    seconds: u64,
    feedback_lost: Option<u64>,
    mut lost: impl FnMut() -> bool,
) -> Vec<f64> {
    let mut per_second = Vec::new();
    for i in 0..seconds * 20 {
        let at = t0 + from + BATCH * i as u32;
        let mut reports = batch(at, t0, 4, 250, &mut lost);
        if feedback_lost.is_some_and(|n| i % n == 0) {
            reports.iter_mut().for_each(|r| {
                r.arrived = false;
                r.arrival = None;
            });
        } else {
            reported.count(&feedback(&reports));
        }
        est.on_reports(at + Duration::from_millis(40), &reports);
        if (i + 1) % 20 == 0 {
            per_second.push(est.target_bitrate());
        }
    }
    per_second
}

fn estimate() -> (SharedEstimate, Arc<ReportedLoss>, Arc<AtomicU64>) {
    let out = Arc::new(AtomicU64::new(0));
    let reported = Arc::new(ReportedLoss::default());
    (
        SharedEstimate::new(out.clone(), reported.clone()),
        reported,
        out,
    )
}

/// A link losing one packet in twenty at random each way, fed back a few packets at a
/// time (a thin link's batches) and losing one feedback in ten, keeps its estimate:
/// the loss half holds and the delay half, which sees no queue, leads.
#[test]
fn five_per_cent_random_loss_and_lost_feedback_keep_the_estimate() {
    let t0 = Instant::now();
    let (mut est, reported, out) = estimate();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let targets = run(
        &mut est,
        &reported,
        t0,
        Duration::ZERO,
        30,
        Some(10),
        || {
            // xorshift: reproducible, about 5 % lost.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng.is_multiple_of(20)
        },
    );
    assert!(
        targets.iter().all(|&t| t >= GCC_INITIAL_BPS * 0.9),
        "{targets:?}"
    );
    assert_eq!(out.load(Ordering::Relaxed), est.target_bitrate() as u64);
    let loss = est.stats().packet_loss;
    assert!(loss.is_some_and(|l| (0.01..0.1).contains(&l)), "{loss:?}");
}

/// A link that drops most of what is sent gets an estimate under what was sent once
/// the window holds enough packets, and climbs again once it is clean.
#[test]
fn heavy_loss_brings_the_estimate_under_what_arrives_and_clean_lets_it_climb() {
    let t0 = Instant::now();
    let (mut est, reported, _) = estimate();
    let mut n = 0u32;
    // 7 of 10 lost of 160 kbit/s sent.
    let lossy = run(&mut est, &reported, t0, Duration::ZERO, 3, None, || {
        n += 1;
        n % 10 < 7
    });
    // Cut at once (30 packets, 70 % lost: clear before the window fills), to under
    // what was sent.
    assert!(lossy[0] < 160_000.0, "{lossy:?}");
    assert!(lossy.iter().all(|&t| t >= GCC_MIN_BPS), "{lossy:?}");
    let low = est.target_bitrate();
    let clean = run(
        &mut est,
        &reported,
        t0,
        Duration::from_secs(3),
        10,
        None,
        || false,
    );
    assert!(clean[9] > low * 2.0, "{low} then {clean:?}");
}

/// Loss is the share the feedback reports not received, once the window holds enough
/// packets; packets no feedback mentioned do not count.
#[test]
fn a_window_of_few_packets_says_nothing_about_loss() {
    let t0 = Instant::now();
    let mut acked = AckedRate::default();
    let all_lost = batch(t0, t0, 10, 1_000, || true);
    acked.add(t0, &all_lost, 10, 0);
    assert_eq!(acked.loss(), None);
    assert_eq!(acked.loss_or_heavy(), None);
    let at = t0 + Duration::from_millis(100);
    // 40 packets rtc reports lost (their feedback never came): not counted.
    acked.add(at, &batch(at, t0, 40, 1_000, || true), 0, 0);
    assert_eq!(acked.loss(), None);
    // 20 more covered, all received: 10 of 30 lost is heavy already.
    acked.add(at, &batch(at, t0, 20, 1_000, || false), 20, 20);
    assert_eq!(acked.loss(), None);
    assert!(
        acked
            .loss_or_heavy()
            .is_some_and(|l| (l - 1.0 / 3.0).abs() < 1e-9)
    );
    acked.add(at, &batch(at, t0, 70, 1_000, || false), 70, 70);
    assert!(
        acked.loss().is_some_and(|l| (l - 0.1).abs() < 1e-9),
        "{:?}",
        acked.loss()
    );
    // The window forgets what is older than two seconds.
    let later = t0 + Duration::from_millis(2_050);
    acked.add(later, &batch(later, t0, 100, 1_000, || false), 100, 100);
    assert_eq!(acked.loss(), Some(0.0));
}

/// Cut once (a burst at the start), then a link that keeps losing 5 % at random: the
/// estimate creeps back up instead of staying where the cut left it.
#[test]
fn after_a_cut_a_link_losing_a_few_per_cent_creeps_back_up() {
    let t0 = Instant::now();
    let (mut est, reported, _) = estimate();
    let mut n = 0u32;
    run(&mut est, &reported, t0, Duration::ZERO, 2, None, || {
        n += 1;
        n % 10 < 7
    });
    let cut = est.target_bitrate();
    assert!(cut < GCC_INITIAL_BPS / 2.0, "{cut}");
    let mut n = 0u32;
    let later = run(
        &mut est,
        &reported,
        t0,
        Duration::from_secs(2),
        30,
        None,
        || {
            n += 1;
            n.is_multiple_of(20)
        },
    );
    // 3 % a second: doubled within the half minute, from where the cuts left it.
    assert!(later[29] > later[1] * 1.8, "{cut} then {later:?}");
}
