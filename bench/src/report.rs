//! One benchmark run's figures, written as JSON (for tools) and a Markdown table (for
//! people) under `bench/results/`.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    /// `bridge` (ours) or `janus`.
    pub server: String,
    /// RFC 3339, UTC.
    pub date: String,
    pub subscribers: usize,
    pub window_s: f64,
    pub forwarded_pps: f64,
    pub forwarded_mbps: f64,
    pub server_cpu_percent: f64,
    /// Server CPU time (its own utime + stime) per forwarded packet.
    pub server_us_per_packet: f64,
    pub loss_worst_pct: f64,
    pub loss_median_pct: f64,
    /// One-way delay publisher → server → subscriber of stamped video frames.
    pub delay_p50_ms: Option<f64>,
    pub delay_p99_ms: Option<f64>,
    pub join_p50_ms: f64,
    pub join_p90_ms: f64,
    pub join_max_ms: f64,
    pub rss_idle_mib: f64,
    pub rss_loaded_mib: f64,
    pub rss_per_participant_kib: f64,
    /// Keyframe requests that reached the publisher during the window.
    pub keyframe_requests_at_publisher: u64,
    /// The floor (µs per packet) and our cost as a multiple of it, when measured.
    pub floor_us: Option<f64>,
    pub multiple_of_floor: Option<f64>,
    pub notes: Vec<String>,
}

/// The `p`-th percentile (0..=100) of `v`, nearest rank.
pub fn percentile(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "### {} — {} ({} subscribers, {:.0} s window, {})\n\n| figure | value |\n| --- | --- |\n",
            self.scenario, self.server, self.subscribers, self.window_s, self.date
        );
        let rows = [
            ("forwarded packets/s", format!("{:.0}", self.forwarded_pps)),
            ("forwarded Mbit/s", format!("{:.1}", self.forwarded_mbps)),
            (
                "server CPU",
                format!("{:.1} % of one core", self.server_cpu_percent),
            ),
            (
                "server CPU per forwarded packet",
                format!("{:.2} µs", self.server_us_per_packet),
            ),
            (
                "floor (SRTP + send) per packet",
                opt(self.floor_us, 2) + " µs",
            ),
            (
                "multiple of the floor",
                opt(self.multiple_of_floor, 1) + "×",
            ),
            (
                "loss per subscriber, worst / median",
                format!(
                    "{:.2} % / {:.2} %",
                    self.loss_worst_pct, self.loss_median_pct
                ),
            ),
            (
                "one-way delay p50 / p99",
                format!(
                    "{} / {} ms",
                    opt(self.delay_p50_ms, 2),
                    opt(self.delay_p99_ms, 2)
                ),
            ),
            (
                "join time p50 / p90 / max",
                format!(
                    "{:.0} / {:.0} / {:.0} ms",
                    self.join_p50_ms, self.join_p90_ms, self.join_max_ms
                ),
            ),
            (
                "server RSS idle → loaded",
                format!("{:.1} → {:.1} MiB", self.rss_idle_mib, self.rss_loaded_mib),
            ),
            (
                "RSS per participant",
                format!("{:.0} KiB", self.rss_per_participant_kib),
            ),
            (
                "keyframe requests reaching the publisher",
                self.keyframe_requests_at_publisher.to_string(),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(s, "| {k} | {v} |");
        }
        for n in &self.notes {
            let _ = writeln!(s, "\n- {n}");
        }
        s
    }

    /// Writes `<dir>/<date>-<scenario>-<server>.json` and `.md`; returns both paths.
    pub fn write(&self, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let stem = format!(
            "{}-{}-{}",
            self.date.get(..10).unwrap_or("undated"),
            self.scenario,
            self.server
        );
        let json = dir.join(format!("{stem}.json"));
        let md = dir.join(format!("{stem}.md"));
        std::fs::write(&json, serde_json::to_string_pretty(self)?)?;
        std::fs::write(&md, self.markdown())?;
        Ok((json, md))
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut v, 100.0), Some(100.0));
        assert_eq!(percentile(&mut [], 50.0), None);
        assert_eq!(percentile(&mut [7.0], 99.0), Some(7.0));
    }
}
