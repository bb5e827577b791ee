//! What each participant of the conference received in the window: the videos it got,
//! their loss, the chair's layer and rate and the main stage's rate at each site;
//! written beside the report. Media is credited to senders through each client's mid map
//! (`subscribe_offer.tracks` and `slots`).

use super::ConferenceOptions;
use crate::report::{Report, percentile};
use bridge_e2e::client::Client;
use bridge_e2e::recv::Kind;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct SubscriberDetail {
    pub name: String,
    pub chair: bool,
    /// Videos that arrived during the window.
    pub videos: usize,
    /// Video packets lost / expected during the window, over all its videos.
    pub lost: u64,
    pub expected: u64,
    pub loss_pct: f64,
    pub delay_p50_ms: Option<f64>,
    /// At a site: the chair's simulcast layer (0 = q … 2 = f) last received, and its
    /// rate over the window (the chair is the main stage until the floor moves to a
    /// site, then a thumbnail while it is the latest speaker).
    pub chair_layer: Option<u8>,
    pub chair_kbps: Option<f64>,
    /// At a site: the rate of its main stage over the window (the floor holder's
    /// video, or the chair's at the holder itself and without a holder).
    pub main_kbps: Option<f64>,
}

/// Video bytes received so far, per subscriber and sender.
pub fn bytes_by_subscriber(clients: &[Arc<Client>]) -> Vec<HashMap<String, u64>> {
    clients
        .iter()
        .map(|c| {
            c.senders_seen()
                .into_iter()
                .filter_map(|p| Some((p.clone(), c.stream(&p, Kind::Video)?.bytes)))
                .collect()
        })
        .collect()
}

/// One detail per participant, the chair first (as in `names` and `before`).
pub fn collect(
    names: &[(&str, &Client)],
    chair_id: &str,
    before: &[HashMap<String, u64>],
    secs: f64,
) -> Vec<SubscriberDetail> {
    names
        .iter()
        .zip(before)
        .map(|((name, c), before)| {
            let (mut videos, mut lost, mut expected) = (0, 0, 0);
            let mut delays: Vec<f64> = Vec::new();
            for p in c.senders_seen() {
                let Some(v) = c.stream(&p, Kind::Video) else {
                    continue;
                };
                if v.expected > 0 {
                    videos += 1;
                    lost += v.lost;
                    expected += v.expected;
                }
                delays.extend(c.delays_us(&p).iter().map(|us| f64::from(*us) / 1e3));
            }
            let is_chair = c.id == chair_id;
            let kbps = |p: &str| {
                let v = c.stream(p, Kind::Video)?;
                let b0 = before.get(p).copied().unwrap_or(0);
                Some(v.bytes.saturating_sub(b0) as f64 * 8.0 / secs / 1e3)
            };
            let chair_video = (!is_chair)
                .then(|| c.stream(chair_id, Kind::Video))
                .flatten();
            let chair_kbps = (!is_chair).then(|| kbps(chair_id)).flatten();
            let main = c
                .floor_holder()
                .filter(|h| *h != c.id)
                .unwrap_or_else(|| chair_id.to_owned());
            let main_kbps = (!is_chair).then(|| kbps(&main)).flatten();
            SubscriberDetail {
                name: (*name).to_owned(),
                chair: is_chair,
                videos,
                lost,
                expected,
                // A participant that received no video at all in the window lost it all.
                loss_pct: if expected == 0 {
                    100.0
                } else {
                    100.0 * lost as f64 / expected as f64
                },
                delay_p50_ms: percentile(&mut delays, 50.0),
                chair_layer: chair_video.and_then(|v| v.layer),
                chair_kbps,
                main_kbps,
            }
        })
        .collect()
}

/// The conference's own findings, for the report's notes.
pub fn notes(
    details: &[SubscriberDetail],
    chair: &Client,
    opts: &ConferenceOptions,
    joins_s: f64,
) -> Vec<String> {
    let sites: Vec<&SubscriberDetail> = details.iter().filter(|d| !d.chair).collect();
    let mut layers = [0usize; 4];
    for d in &sites {
        layers[d.chair_layer.map_or(3, |l| usize::from(l).min(2))] += 1;
    }
    let mut kbps: Vec<f64> = sites.iter().filter_map(|d| d.chair_kbps).collect();
    let mut main_kbps: Vec<f64> = sites.iter().filter_map(|d| d.main_kbps).collect();
    let no_main = sites
        .iter()
        .filter(|d| d.main_kbps.is_none_or(|k| k <= 0.0))
        .count();
    let worst = sites
        .iter()
        .max_by(|a, b| a.loss_pct.total_cmp(&b.loss_pct));
    let (paused, layers_msgs) = chair.layers_paused();
    let on_page = details.iter().find(|d| d.chair).map_or(0, |d| d.videos);
    let mut notes = vec![
        format!(
            "Phú Thọ conference: 1 chair (simulcast {:?} bit/s + Opus) and {} sites ({} bit/s + \
             Opus, talk spurts); {} participants joined one after another in {joins_s:.2} s.",
            opts.chair_bps,
            opts.sites,
            opts.site_bps,
            opts.sites + 1
        ),
        format!(
            "Chair's layer at the sites (from the frames' layer mark): f {}, h {}, q {}, none {}; \
             the chair's rate at a site p50 {:.0} kbit/s. Encodings paused at the chair by \
             `layers` (q, h, f): {paused:?} after {layers_msgs} messages.",
            layers[2],
            layers[1],
            layers[0],
            layers[3],
            percentile(&mut kbps, 50.0).unwrap_or(0.0)
        ),
        format!(
            "Main stage at the sites in the window (the floor holder's video; the chair's at \
             the holder): p50 {:.0} kbit/s; {no_main} sites received none of it.",
            percentile(&mut main_kbps, 50.0).unwrap_or(0.0)
        ),
        format!(
            "The chair received {on_page} videos in the window (its page of {}, plus the \
             floor holder when not on the page).",
            opts.page.min(opts.sites)
        ),
    ];
    if let Some(w) = worst {
        notes.push(format!(
            "Worst site: {} with {:.2} % video loss ({} of {} packets), {} videos.",
            w.name, w.loss_pct, w.lost, w.expected, w.videos
        ));
    }
    notes
}

/// Writes the details as `<stem>-subscribers.json` beside the report's files.
pub fn write_details(
    dir: &Path,
    report: &Report,
    details: &[SubscriberDetail],
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "{}-{}-{}-subscribers.json",
        report.date.get(..10).unwrap_or("undated"),
        report.scenario,
        report.server
    ));
    std::fs::write(&path, serde_json::to_string_pretty(details)?)?;
    Ok(path)
}
