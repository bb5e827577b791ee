//! The Phú Thọ conference through the real `bridge` binary: the province (the first unit
//! of `units-phu-tho.csv`) chairs, publishing three simulcast encodings (≈150/500/1500
//! kbit/s) and Opus in talk spurts; N sites (the next N units, named as in the file)
//! each publish one low layer (≈150 kbit/s) and Opus in talk spurts. Everyone joins with
//! `default_view: off` and names what it shows: each site the main stage (the chair, the
//! floor holder once there is one) and the latest other speaker as a thumbnail; the chair
//! a page of 25 sites and the floor holder ([`views`]). Once every site shows the chair,
//! the chair gives the floor to the first site, so a second microphone is heard, the
//! speaker ranking moves and the sites' main stage changes.
//! Measured as [`crate::fanout`] measures, with every participant a subscriber.

mod detail;
pub mod views;

use crate::measure::{self, Counters, Memory, Samples, Window};
use crate::report::Report;
use anyhow::bail;
use bridge_e2e::client::{Client, ClientOptions, Quality, TalkSpurts, wait_until};
use bridge_e2e::recv::Kind;
use bridge_e2e::server::BridgeServer;
pub use detail::{SubscriberDetail, write_details};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use views::{Director, Layout};
use webrtc::peer_connection::RTCPeerConnectionState;

/// The demo province: 1 province + 13 districts + 207 communes.
const UNITS: &str = include_str!("../../../scheduler/units/units-phu-tho.csv");

#[derive(Debug, Clone)]
pub struct ConferenceOptions {
    /// Sites besides the chair (at most 220: the province's other units).
    pub sites: usize,
    pub warmup: Duration,
    pub window: Duration,
    /// The chair's simulcast encodings q, h, f in bit/s.
    pub chair_bps: [u32; 3],
    /// A site's one video layer.
    pub site_bps: u32,
    /// Sites on the chair's page.
    pub page: usize,
}

impl Default for ConferenceOptions {
    fn default() -> Self {
        ConferenceOptions {
            sites: 220,
            warmup: Duration::from_secs(5),
            window: Duration::from_secs(10),
            chair_bps: [150_000, 500_000, 1_500_000],
            site_bps: 150_000,
            page: 25,
        }
    }
}

/// `(code, name)` of every unit, the province first.
pub fn units() -> Vec<(String, String)> {
    UNITS
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.get(4)?.trim().to_string()))
        })
        .collect()
}

/// A run's report and what each subscriber received.
pub struct ConferenceRun {
    pub report: Report,
    pub details: Vec<SubscriberDetail>,
    /// `error` messages the server sent to anyone, by code (none in a good run).
    pub errors: BTreeMap<String, usize>,
}

fn speaker(talk_s: u64, pause_s: u64, tone: f32, video: Option<u32>) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(tone),
        video_bps: video,
        keyframe_every: None,
        stamp_send_time: true,
        talk_spurts: Some(TalkSpurts {
            talk: Duration::from_secs(talk_s),
            pause: Duration::from_secs(pause_s),
        }),
        // Nobody listens to the load generator's audio; decoding it would only take
        // the cores the server needs.
        decode_audio: false,
        // A hall or the chair's console shows a few videos; it names them with `view`.
        default_view: Some(Quality::Off),
        ..Default::default()
    }
}

/// A site still without the chair's video this long after joining is taken for stuck.
const STALE: Duration = Duration::from_secs(45);

/// A site's connections and client-side failures, for messages.
fn state_of(name: &str, c: &Client, chair: &str) -> String {
    let chair_track = c
        .subscribed_tracks()
        .iter()
        .any(|t| t["source"] == "camera" && t["participant_id"] == chair);
    let (ua, uv) = c.unattributed();
    format!(
        "{name} (publish {:?}, subscribe {:?}, {} subscribe offers, {} slots messages, \
         {} senders heard, an m-line carries the chair's camera: {chair_track}, chair's \
         video {:?}, packets on unlisted m-lines: {ua} audio {uv} video, failures {:?})",
        c.publish_state(),
        c.subscribe_state(),
        c.subscribe_offers(),
        c.slots_messages(),
        c.senders_seen().len(),
        c.stream(chair, Kind::Video)
            .map(|v| (v.packets, v.keyframes)),
        c.failures()
    )
}

/// True once `c` received the chair's video, credited through its mid map: a keyframe
/// (a picture can start) on the m-line that carries the chair's camera.
fn has_chair_video(c: &Client, chair: &str) -> bool {
    c.stream(chair, Kind::Video)
        .is_some_and(|v| v.keyframes > 0)
}

/// Bails out naming the first participant the server disconnected.
fn check_alive(all: &[(&str, &Client)]) -> anyhow::Result<()> {
    for (name, c) in all {
        if let Some(code) = c.closed_by_server() {
            bail!("the server closed {name}'s socket (close code {code:?})");
        }
    }
    Ok(())
}

pub async fn run(opts: &ConferenceOptions) -> anyhow::Result<ConferenceRun> {
    let units = units();
    let Some(((chair_unit, chair_name), site_units)) = units.split_first() else {
        bail!("no units in units-phu-tho.csv");
    };
    if opts.sites == 0 || opts.sites > site_units.len() {
        bail!("--sites must be 1..={}", site_units.len());
    }
    let site_units = &site_units[..opts.sites];
    let load_before = measure::loadavg();
    let server = BridgeServer::start().await?;
    let mem = Memory::idle(&server)?;
    let http = reqwest::Client::new();
    let room = format!("u-{chair_unit}");

    let chair_opts = ClientOptions {
        simulcast: Some(opts.chair_bps),
        ..speaker(8, 2, 440.0, None)
    };
    let chair = Arc::new(
        Client::join_as(
            &server,
            &room,
            chair_name,
            "chair",
            Some(chair_unit),
            chair_opts,
        )
        .await?,
    );
    let director = Director::default();
    let ticking = director.start();
    let mut sites: Vec<Arc<Client>> = Vec::with_capacity(opts.sites);
    let join_started = Instant::now();
    let join_site = |i: usize| {
        let (code, name) = &site_units[i];
        let tone = 300.0 + 20.0 * (i % 60) as f32;
        let o = speaker(3, 3, tone, Some(opts.site_bps));
        Client::join_as(&server, &room, name, "member", Some(code), o)
    };
    let site_layout = || Layout::Site {
        chair: chair.id.clone(),
    };
    for i in 0..site_units.len() {
        let c = Arc::new(join_site(i).await?);
        director.add(c.clone(), site_layout());
        // One site at a time: a burst of DTLS handshakes on a busy generator makes its
        // webrtc-rs clients retransmit flights that their own state machine then refuses.
        let connected = || c.publish_state() == Some(RTCPeerConnectionState::Connected);
        let _ = wait_until(
            Duration::from_secs(10),
            "the site's publish connection",
            connected,
        )
        .await;
        sites.push(c);
        if sites.len().is_multiple_of(20) {
            eprintln!(
                "{} sites joined in {:.0} s",
                sites.len(),
                join_started.elapsed().as_secs_f64()
            );
        }
    }
    let joins_s = join_started.elapsed().as_secs_f64();

    // A webrtc-rs client connection sometimes dies under load (its DTLS state machine
    // refuses a late flight with "invalid state machine transition" and the connection
    // stops): such a site joins again, as a room page reconnects. Counted in the notes.
    let deadline = Instant::now() + Duration::from_secs(60 + opts.sites as u64 / 2);
    let mut rejoins: Vec<String> = Vec::new();
    let mut tries = vec![0u32; sites.len()];
    loop {
        let missing: Vec<usize> = (0..sites.len())
            .filter(|&i| !has_chair_video(&sites[i], &chair.id))
            .collect();
        if missing.is_empty() {
            break;
        }
        if let Some(i) = (0..sites.len()).find(|&i| sites[i].closed_by_server().is_some()) {
            bail!(
                "the server closed {}'s socket (close code {:?}; largest subscribe_answer \
                 it sent: {} bytes)",
                site_units[i].1,
                sites[i].closed_by_server(),
                sites[i].largest_subscribe_answer()
            );
        }
        if Instant::now() > deadline {
            let who: Vec<String> = missing
                .iter()
                .map(|&i| state_of(&site_units[i].1, &sites[i], &chair.id))
                .collect();
            bail!(
                "no video from the chair ({} keyframe requests reached it) at {} sites: {}",
                chair.keyframe_requests(),
                who.len(),
                who.join("; ")
            );
        }
        for i in missing {
            let s = &sites[i];
            // The chair's video arrives without its keyframe (the keyframe that began it
            // on a reused m-line came before the `slots` message naming the chair): ask
            // for one, as a decoder would.
            if s.stream(&chair.id, Kind::Video)
                .is_some_and(|v| v.first_at.elapsed() > Duration::from_secs(2))
            {
                let _ = s.request_keyframe(&chair.id).await;
            }
            if tries[i] < 2 && s.joined_at.elapsed() > STALE {
                eprintln!("{}", state_of(&site_units[i].1, s, &chair.id));
            }
            let broken = !s.failures().is_empty()
                || [s.publish_state(), s.subscribe_state()].iter().any(|st| {
                    matches!(
                        st,
                        Some(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed)
                    )
                });
            let stale = s.joined_at.elapsed() > STALE;
            if !(broken || stale) || tries[i] >= 2 {
                continue;
            }
            tries[i] += 1;
            rejoins.push(state_of(&site_units[i].1, s, &chair.id));
            let fresh = Arc::new(join_site(i).await?);
            director.replace(&s.id, fresh.clone(), site_layout());
            let old = std::mem::replace(&mut sites[i], fresh);
            if let Ok(mut old) = Arc::try_unwrap(old) {
                old.close().await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let page: Vec<Arc<Client>> = sites.iter().take(opts.page).cloned().collect();
    let page_ids: HashSet<String> = page.iter().map(|c| c.id.clone()).collect();
    director.add(chair.clone(), Layout::Chair { page: page_ids });

    let names: Vec<(&str, &Client)> = std::iter::once((chair_name.as_str(), chair.as_ref()))
        .chain(
            site_units
                .iter()
                .zip(&sites)
                .map(|((_, n), c)| (n.as_str(), c.as_ref())),
        )
        .collect();
    let deadline = Duration::from_secs(60 + opts.sites as u64 / 2);
    wait_until(deadline, "the chair receiving its page's video", || {
        page.iter()
            .all(|s| chair.stream(&s.id, Kind::Video).is_some())
    })
    .await?;
    let joins_ms: Vec<f64> = sites
        .iter()
        .filter_map(|s| {
            let v = s.stream(&chair.id, Kind::Video)?;
            Some(v.first_at.duration_since(s.opened_at).as_secs_f64() * 1e3)
        })
        .collect();
    // The floor moves to the first site: its microphone is forwarded from now on.
    if let Some(first) = sites.first() {
        chair.send_json(&json!({"type": "grant_floor", "participant": first.id}))?;
    }
    wait_until(deadline, "every view sent", || director.settled()).await?;
    tokio::time::sleep(opts.warmup).await;
    check_alive(&names)?;

    let everyone: Vec<Arc<Client>> = std::iter::once(chair.clone())
        .chain(sites.iter().cloned())
        .collect();
    for c in &everyone {
        c.reset_loss();
    }
    let before = detail::bytes_by_subscriber(&everyone);
    let kf0 = chair.keyframe_requests();
    let views0 = director.views_sent();
    let c0 = Counters::read(&http, &server).await?;
    tokio::time::sleep(opts.window).await;
    let w = Window::between(&c0, &Counters::read(&http, &server).await?);
    let load_after = measure::loadavg();
    let mem = mem.loaded(&server)?;
    if w.packets == 0 {
        bail!("the server forwarded nothing in the window");
    }
    let details = detail::collect(&names, &chair.id, &before, w.secs);
    ticking.abort();

    let samples = Samples {
        losses: details.iter().map(|d| d.loss_pct).collect(),
        delays_ms: everyone
            .iter()
            .flat_map(|c| {
                c.senders_seen()
                    .into_iter()
                    .flat_map(|p| c.delays_us(&p))
                    .collect::<Vec<_>>()
            })
            .map(|us| f64::from(us) / 1e3)
            .collect(),
        joins_ms,
    };
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for c in &everyone {
        for e in c.errors() {
            let code = e["code"].as_str().unwrap_or("(no code)").to_owned();
            *errors.entry(code).or_default() += 1;
        }
    }
    let participants = opts.sites + 1;
    let scenario = format!("conference-{}", opts.sites);
    let mut report = measure::report(scenario, participants, participants, &w, samples, mem)?;
    report.keyframe_requests_at_publisher = chair.keyframe_requests() - kf0;
    report.notes = detail::notes(&details, &chair, opts, joins_s);
    report.notes.push(format!(
        "View messages sent during the window: {}; load generator CPU {:.0} % of one core; \
         load average before the run {load_before}, after the window {load_after}.",
        director.views_sent() - views0,
        w.generator_cpu_percent()
    ));
    let largest = everyone
        .iter()
        .map(|c| c.largest_subscribe_answer())
        .max()
        .unwrap_or(0);
    let limit = &chair.joined["limits"]["max_message_bytes"];
    report.notes.push(format!(
        "Largest subscribe_answer a participant sent: {largest} bytes (the server's limit \
         for a client message is {limit})."
    ));
    if !rejoins.is_empty() {
        report.notes.push(format!(
            "{} sites joined again because their connection failed or stalled during the joins \
             (client DTLS or ICE giving up while the server's media loop was busy): {}.",
            rejoins.len(),
            rejoins.join("; ")
        ));
    }
    if !errors.is_empty() {
        report
            .notes
            .push(format!("Errors the server sent, by code: {errors:?}."));
    }
    report.notes.push(format!(
        "Load generator: {participants} webrtc-rs clients in one process on the same 2 cores \
         as the server, so figures include that contention."
    ));

    drop(names);
    drop((everyone, sites, page));
    for c in director.take() {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.leave(Duration::from_secs(2)).await.ok();
        }
    }
    if let Ok(c) = Arc::try_unwrap(chair) {
        c.leave(Duration::from_secs(2)).await.ok();
    }
    Ok(ConferenceRun {
        report,
        details,
        errors,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_units_are_the_province_and_its_220_sites() {
        let u = super::units();
        assert_eq!(u.len(), 221);
        assert_eq!(u[0], ("25".to_owned(), "Tỉnh Phú Thọ".to_owned()));
        assert!(
            u.iter()
                .all(|(code, name)| !code.is_empty() && !name.is_empty())
        );
    }
}
