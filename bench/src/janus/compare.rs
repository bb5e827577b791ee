//! Ours against Janus, one scenario of one run: the ratio line printed at the end, and a
//! Markdown comparison written beside both reports under `bench/results/`.

use super::setup::JanusConfig;
use crate::report::Report;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `janus / ours`, when both are measured and ours is not zero (0 % loss has no ratio).
pub fn ratio(janus: Option<f64>, ours: Option<f64>) -> Option<f64> {
    match (janus, ours) {
        (Some(j), Some(o)) if o > 0.0 && j.is_finite() && o.is_finite() => Some(j / o),
        _ => None,
    }
}

fn times(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}×"))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.2} ms"))
}

/// One line: Janus µs/packet ÷ ours, and loss and delay side by side with their ratios.
pub fn line(ours: &Report, janus: &Report, cfg: &JanusConfig) -> String {
    format!(
        "{}: Janus ({}) {:.1} µs/packet ÷ ours {:.1} µs = {}; loss worst {:.2} % vs {:.2} % ({}), \
         median {:.2} % vs {:.2} %; delay p50 {} vs {} ({}), p99 {} vs {} ({})",
        ours.scenario,
        cfg.label(),
        janus.server_us_per_packet,
        ours.server_us_per_packet,
        times(ratio(
            Some(janus.server_us_per_packet),
            Some(ours.server_us_per_packet)
        )),
        janus.loss_worst_pct,
        ours.loss_worst_pct,
        times(ratio(Some(janus.loss_worst_pct), Some(ours.loss_worst_pct))),
        janus.loss_median_pct,
        ours.loss_median_pct,
        ms(janus.delay_p50_ms),
        ms(ours.delay_p50_ms),
        times(ratio(janus.delay_p50_ms, ours.delay_p50_ms)),
        ms(janus.delay_p99_ms),
        ms(ours.delay_p99_ms),
        times(ratio(janus.delay_p99_ms, ours.delay_p99_ms)),
    )
}

/// A table of both runs and the ratios, then both full reports.
pub fn markdown(ours: &Report, janus: &Report, cfg: &JanusConfig) -> String {
    let mut s = format!(
        "## {} — ours against Janus ({}), same run\n\n\
         | figure | ours (bridge) | Janus | Janus ÷ ours |\n| --- | --- | --- | --- |\n",
        ours.scenario,
        cfg.label()
    );
    let f = |v: f64, d: usize| format!("{v:.d$}");
    let rows: [(&str, String, String, Option<f64>); 9] = [
        (
            "server CPU per forwarded packet (µs)",
            f(ours.server_us_per_packet, 2),
            f(janus.server_us_per_packet, 2),
            ratio(
                Some(janus.server_us_per_packet),
                Some(ours.server_us_per_packet),
            ),
        ),
        (
            "forwarded packets/s",
            f(ours.forwarded_pps, 0),
            f(janus.forwarded_pps, 0),
            ratio(Some(janus.forwarded_pps), Some(ours.forwarded_pps)),
        ),
        (
            "server CPU (% of one core)",
            f(ours.server_cpu_percent, 1),
            f(janus.server_cpu_percent, 1),
            ratio(
                Some(janus.server_cpu_percent),
                Some(ours.server_cpu_percent),
            ),
        ),
        (
            "loss worst (%)",
            f(ours.loss_worst_pct, 2),
            f(janus.loss_worst_pct, 2),
            ratio(Some(janus.loss_worst_pct), Some(ours.loss_worst_pct)),
        ),
        (
            "loss median (%)",
            f(ours.loss_median_pct, 2),
            f(janus.loss_median_pct, 2),
            ratio(Some(janus.loss_median_pct), Some(ours.loss_median_pct)),
        ),
        (
            "delay p50",
            ms(ours.delay_p50_ms),
            ms(janus.delay_p50_ms),
            ratio(janus.delay_p50_ms, ours.delay_p50_ms),
        ),
        (
            "delay p99",
            ms(ours.delay_p99_ms),
            ms(janus.delay_p99_ms),
            ratio(janus.delay_p99_ms, ours.delay_p99_ms),
        ),
        (
            "join p50 (ms)",
            f(ours.join_p50_ms, 0),
            f(janus.join_p50_ms, 0),
            ratio(Some(janus.join_p50_ms), Some(ours.join_p50_ms)),
        ),
        (
            "RSS loaded (MiB)",
            f(ours.rss_loaded_mib, 1),
            f(janus.rss_loaded_mib, 1),
            ratio(Some(janus.rss_loaded_mib), Some(ours.rss_loaded_mib)),
        ),
    ];
    for (name, o, j, r) in rows {
        let _ = writeln!(s, "| {name} | {o} | {j} | {} |", times(r));
    }
    let _ = writeln!(
        s,
        "\nOurs counts packets the server forwarded (its `/healthz`); Janus's figure counts \
         packets its subscribers received. RSS: ours includes the demo data it seeds on a \
         fresh data directory (see docs/performance.md).\n"
    );
    s.push_str(&ours.markdown());
    s.push('\n');
    s.push_str(&janus.markdown());
    s
}

/// Writes Janus's report as `<date>-<scenario>-janus[-elN].json` and `.md`, the suffix
/// keeping the two configurations of one day apart; returns the JSON's path.
pub fn write_janus(dir: &Path, janus: &Report, cfg: &JanusConfig) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let date = janus.date.get(..10).unwrap_or("undated");
    let stem = format!("{date}-{}-janus{}", janus.scenario, cfg.file_suffix());
    let json = dir.join(format!("{stem}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(janus)?)?;
    std::fs::write(dir.join(format!("{stem}.md")), janus.markdown())?;
    Ok(json)
}

/// Writes ours (`…-bridge`), Janus's (`…-janus[-elN]`) and the comparison
/// (`<date>-<scenario>-comparison[-elN].md`, and `.json` with both reports: the next run
/// of the same scenario overwrites `…-bridge`, the pair stays) under `dir`; returns the
/// comparison's path.
pub fn write(
    dir: &Path,
    ours: &Report,
    janus: &Report,
    cfg: &JanusConfig,
) -> anyhow::Result<PathBuf> {
    ours.write(dir)?;
    write_janus(dir, janus, cfg)?;
    let date = janus.date.get(..10).unwrap_or("undated");
    let path = dir.join(format!(
        "{date}-{}-comparison{}.md",
        ours.scenario,
        cfg.file_suffix()
    ));
    std::fs::write(&path, markdown(ours, janus, cfg))?;
    let both = serde_json::json!({"bridge": ours, "janus": janus, "janus_config": cfg.label()});
    std::fs::write(
        path.with_extension("json"),
        serde_json::to_string_pretty(&both)?,
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(server: &str, us: f64, loss: f64, p50: Option<f64>) -> Report {
        Report {
            scenario: "fanout-10".into(),
            server: server.into(),
            date: "2026-11-29T09:00:00Z".into(),
            server_us_per_packet: us,
            loss_worst_pct: loss,
            delay_p50_ms: p50,
            forwarded_pps: 1700.0,
            ..Default::default()
        }
    }

    #[test]
    fn ratios_are_janus_over_ours_and_undefined_at_zero() {
        assert_eq!(ratio(Some(40.0), Some(10.0)), Some(4.0));
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(ratio(Some(f64::NAN), Some(1.0)), None);
    }

    #[test]
    fn the_line_and_the_table_show_the_ratio() {
        let ours = report("bridge", 10.0, 0.0, Some(2.0));
        let janus = report("janus", 41.0, 1.5, None);
        let cfg = JanusConfig::default();
        let l = line(&ours, &janus, &cfg);
        assert!(l.starts_with("fanout-10: Janus (default config"), "{l}");
        assert!(l.contains("41.0 µs/packet ÷ ours 10.0 µs = 4.10×"), "{l}");
        assert!(l.contains("loss worst 1.50 % vs 0.00 % (–)"), "{l}");
        assert!(l.contains("delay p50 – vs 2.00 ms (–)"), "{l}");
        let md = markdown(&ours, &janus, &cfg);
        assert!(md.contains("| server CPU per forwarded packet (µs) | 10.00 | 41.00 | 4.10× |"));

        let dir = tempfile::tempdir().unwrap();
        let cfg2 = JanusConfig {
            event_loops: Some(2),
        };
        let path = write(dir.path(), &ours, &janus, &cfg2).unwrap();
        assert!(path.ends_with("2026-11-29-fanout-10-comparison-el2.md"));
        assert!(
            dir.path()
                .join("2026-11-29-fanout-10-janus-el2.json")
                .exists()
        );
        assert!(dir.path().join("2026-11-29-fanout-10-bridge.json").exists());
        let pair: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(pair["janus"]["server_us_per_packet"], 41.0);
        assert_eq!(pair["janus_config"], "event_loops = 2");
    }
}
