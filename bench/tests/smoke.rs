//! The harness works: a short fan-out to three subscribers and a short Phú Thọ conference
//! of four sites through the real binary give complete, sane reports (no speed is
//! asserted; full runs are in docs/performance.md).

use bridge_bench::conference::{self, ConferenceOptions};
use bridge_bench::fanout::{FanoutOptions, run};
use bridge_bench::floor;
use bridge_bench::report::Report;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_fanout_produces_a_complete_report() {
    let _serial = bridge_e2e::serial().await;
    let report = run(&FanoutOptions {
        subscribers: 3,
        warmup: Duration::from_secs(1),
        window: Duration::from_secs(3),
        keyframe_storm: true,
        ..Default::default()
    })
    .await
    .expect("fan-out run");
    assert_eq!(report.subscribers, 3);
    assert!(report.forwarded_pps > 50.0, "{report:?}");
    assert!(report.server_us_per_packet > 0.0, "{report:?}");
    assert!(
        report.loss_worst_pct < 100.0,
        "every subscriber received: {report:?}"
    );
    let p50 = report.delay_p50_ms.expect("delays measured");
    assert!(
        p50 > 0.0 && report.delay_p99_ms.unwrap_or(0.0) >= p50,
        "{report:?}"
    );
    assert!(report.join_max_ms > 0.0 && report.join_p50_ms <= report.join_max_ms);
    assert!(report.rss_loaded_mib > 0.0);
    // The storm reached the server; at most about one request per second got through.
    assert!(report.keyframe_requests_at_publisher <= 4, "{report:?}");

    // It round-trips through JSON and renders a table.
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = report.write(dir.path()).unwrap();
    let back: Report = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(back.scenario, "keyframe-storm-3");
    assert!(
        std::fs::read_to_string(md)
            .unwrap()
            .contains("| server CPU per forwarded packet |")
    );
}

#[test]
fn the_floor_is_measured() {
    let f = floor::measure(2_000, 4).expect("floor");
    assert!(f.protect_gcm_us > 0.0 && f.protect_cm_sha1_us > 0.0 && f.send_us > 0.0);
    assert!((f.floor_us - (f.protect_gcm_us + f.send_us)).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_conference_shows_each_site_its_main_stage_and_the_chair_its_page() {
    let _serial = bridge_e2e::serial().await;
    let run = conference::run(&ConferenceOptions {
        sites: 4,
        // A page smaller than the room, so some sites are off the chair's page.
        page: 2,
        warmup: Duration::from_secs(2),
        window: Duration::from_secs(3),
        ..Default::default()
    })
    .await
    .expect("conference run");
    assert!(
        run.errors.is_empty(),
        "the server refused: {:?}",
        run.errors
    );
    let (report, details) = (run.report, run.details);
    assert_eq!(report.scenario, "conference-4");
    assert_eq!(report.subscribers, 5, "the chair and the 4 sites");
    assert_eq!(details.len(), 5);
    assert!(report.forwarded_pps > 50.0, "{report:?}");
    assert!(report.server_us_per_packet > 0.0, "{report:?}");
    let p50 = report.delay_p50_ms.expect("delays measured");
    assert!(
        p50 > 0.0 && report.delay_p99_ms.unwrap_or(0.0) >= p50,
        "{report:?}"
    );
    assert!(report.join_max_ms > 0.0 && report.join_p50_ms <= report.join_max_ms);
    assert!(report.rss_loaded_mib > 0.0);

    let (chair, sites) = details.split_first().expect("the chair's detail");
    assert!(chair.chair, "{chair:?}");
    // The chair sees its page (2 sites, the floor holder among them), not the whole room.
    assert!((2..=3).contains(&chair.videos), "{chair:?}");
    assert!(chair.loss_pct < 100.0, "{chair:?}");
    for s in sites {
        // Every site receives its main stage through the window: the floor holder
        // (the first site) at its one layer, the chair at the holder itself.
        assert!(s.main_kbps.is_some_and(|k| k > 50.0), "{s:?}");
        // The main stage and the speaker thumbnail (a second one if the speaker changed
        // within the window), not the whole room.
        assert!((1..=3).contains(&s.videos), "{s:?}");
        assert!(s.loss_pct < 100.0, "{s:?}");
        assert!(s.delay_p50_ms.is_some(), "{s:?}");
    }
    // The floor holder shows the chair on its main stage, at its best layer (no
    // bandwidth estimate to hold it back).
    assert!(
        sites[0].chair_kbps.is_some_and(|k| k > 100.0),
        "{:?}",
        sites[0]
    );
    assert_eq!(sites[0].chair_layer, Some(2), "{:?}", sites[0]);
    // The first site is named as its unit is.
    assert_eq!(sites[0].name, "Thành phố Việt Trì");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("paused at the chair")),
        "{:?}",
        report.notes
    );
}
