//! The harness works: a short fan-out to three subscribers through the real binary gives a
//! complete, sane report (no speed is asserted; full runs are in docs/performance.md).

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
