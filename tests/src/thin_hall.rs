//! A commune hall's meeting with its province over an emulated thin link, the setup of
//! `tests/thin_link.rs`: the server (HTTPS, self-signed) in the root namespace, a
//! scheduled meeting of the province with the commune created through the scheduler's
//! API (so that attendance can be read back), the province's Chromium in the root
//! namespace and the hall's behind the link ([`crate::impair`]). Both sites join as
//! members: with a chair in the room only the floor is heard, and these tests are about
//! the network, not chairing. [`Meeting::measure`] reads what the hall experiences with
//! [`crate::hall_stats`].

use crate::api::ApiSession;
use crate::browser::Browser;
use crate::hall_stats::{Experience, experience, hook_stats, read_stats};
use crate::impair::{Counters, Direction, ImpairedHall, Impairment};
use crate::room_page::{JOIN_TIMEOUT, assert_hears};
use crate::sched_pages::add_user;
use crate::server::{BridgeServer, token_from_url};
use anyhow::Context;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The seed of the link's random loss: the same drops on every run of the same traffic.
pub const SEED: u64 = 20_260_512;
/// How long the hall's experience is measured.
pub const WINDOW: Duration = Duration::from_secs(30);

pub const PROVINCE: &str = "Tỉnh Phú Thọ";
pub const PROVINCE_UNIT: &str = "25";
/// Xã Thu Cúc (huyện Tân Sơn), as in the demo units.
pub const HALL_UNIT: &str = "08545";
pub const HALL: &str = "Xã Thu Cúc";

/// How long the server holds a silent site's place before it leaves: the resume grace
/// period (`joined.resume.grace_ms`, the signaling crate's `RESUME_GRACE`), counted from
/// when the site was last heard, as `b`'s page shows it (`window.bridge.resumeGraceMs`).
/// An error before the page has joined (the page has none then).
pub async fn resume_grace(b: &Browser) -> anyhow::Result<Duration> {
    let v = b.eval("return window.bridge.resumeGraceMs;").await?;
    let ms = v
        .as_u64()
        .with_context(|| format!("the page has no resume grace period (not joined?): {v}"))?;
    Ok(Duration::from_millis(ms))
}

/// A running meeting: the server, the province's page (root namespace) and the hall's
/// page behind `link`.
pub struct Meeting {
    // Dropped in this order: browsers first, then the link (its namespace), then the server.
    pub hall: Browser,
    pub province: Browser,
    pub link: ImpairedHall,
    server: BridgeServer,
    api: ApiSession,
    meeting_id: String,
}

impl Meeting {
    /// Starts everything and waits until the hall hears the province (and, with
    /// `want_video`, shows its picture): the moment a hall would call "joined". The
    /// meeting is scheduled from `starts_at` to `ends_at` (RFC 3339; the caller writes
    /// them, this library has no date crate): it must be on when the sites join.
    pub async fn start(
        setting: Impairment,
        want_video: bool,
        starts_at: &str,
        ends_at: &str,
    ) -> anyhow::Result<Meeting> {
        let link = ImpairedHall::create(setting, SEED)?;
        let (server, pin) = BridgeServer::start_https_on(link.server_ip).await?;
        let pin_arg = vec![pin];

        // A meeting of the province with the commune.
        add_user(&server, "thuky.tinh", "secretary", PROVINCE_UNIT)?;
        let api = ApiSession::login_self_signed(&server.base_url(), "thuky.tinh").await?;
        let created = api
            .call(
                reqwest::Method::POST,
                "/meetings",
                json!({
                    "title": "Giao ban trực tuyến",
                    "organizer": PROVINCE_UNIT,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "participants": [{"type": "unit", "code": HALL_UNIT}],
                }),
            )
            .await?;
        let meeting_id = created["meeting"]["id"]
            .as_str()
            .context("meeting id")?
            .to_owned();
        let join = api
            .json(&format!("/meetings/{meeting_id}/join/{HALL_UNIT}"))
            .await?;
        let room = join["ticket"]["room"].as_str().context("room")?.to_owned();
        let hall_token = join["url"]
            .as_str()
            .and_then(token_from_url)
            .context("the hall's join link")?;
        // The province as a member too (its organizer's link would chair).
        let province_token =
            server.token_for_unit(&room, PROVINCE, "member", Some(PROVINCE_UNIT))?;
        let url = |token: &str| format!("{}/r/{room}?t={token}", server.base_url());

        let province = Browser::launch_args(true, &pin_arg).await?;
        province.open_window(&url(&province_token)).await?;
        let hall = Browser::launch_in(&link, &pin_arg).await?;
        let opened = Instant::now();
        hall.open_window(&url(&hall_token)).await?;
        let loaded = opened.elapsed();
        hook_stats(&hall).await?;
        hook_stats(&province).await?;
        assert_hears(&hall, HALL, PROVINCE).await?;
        let heard = opened.elapsed();
        if want_video {
            hall.wait_true(
                &format!(
                    "return [...document.querySelectorAll('#grid .tile:not(.self)')].some(t => \
                       t.querySelector('.name').textContent === {name} && \
                       t.querySelector('video') && t.querySelector('video').videoWidth > 0);",
                    name = serde_json::to_string(PROVINCE)?
                ),
                JOIN_TIMEOUT,
                "the hall's first picture of the province",
            )
            .await?;
        }
        eprintln!(
            "hall behind {setting:?}: page loaded in {loaded:.1?}, province heard after \
             {heard:.1?}, {}",
            if want_video {
                format!("first picture after {:.1?}", opened.elapsed())
            } else {
                "picture not awaited".to_owned()
            }
        );
        Ok(Meeting {
            hall,
            province,
            link,
            server,
            api,
            meeting_id,
        })
    }

    /// The id of the participant named `name` as `b`'s page lists it (itself included).
    pub async fn pid(b: &Browser, name: &str) -> anyhow::Result<Option<String>> {
        let v = b
            .eval(&format!(
                "const n = {name}; const me = window.bridge.self; \
                 if (me && me.name === n) return me.id; \
                 const p = window.bridge.participants.find(p => p.name === n); \
                 return p ? p.id : null;",
                name = serde_json::to_string(name)?
            ))
            .await?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// Measures the hall's experience over [`WINDOW`], prints it on one line named
    /// `case`, and returns it with the link's counters over the window.
    pub async fn measure(&self, case: &str) -> anyhow::Result<(Experience, Counters, Counters)> {
        let stage = Self::pid(&self.hall, PROVINCE)
            .await?
            .context("the hall does not list the province")?;
        let down0 = self.link.counters(Direction::ToHall);
        let up0 = self.link.counters(Direction::FromHall);
        let id_before = Self::pid(&self.hall, HALL).await?;
        let first = read_stats(&self.hall, true).await?;
        tokio::time::sleep(WINDOW).await;
        let last = read_stats(&self.hall, false).await?;
        let id_after = Self::pid(&self.hall, HALL).await?;
        let rejoined = if id_before == id_after {
            "kept its participant id"
        } else {
            "REJOINED (new participant id)"
        };
        let down = self.link.counters(Direction::ToHall).since(&down0);
        let up = self.link.counters(Direction::FromHall).since(&up0);
        let e = experience(&first, &last, &stage);
        eprintln!(
            "thin link {case}: over {:.1} s the hall got audio concealed {:.2} % \
             ({:.0} of {:.0} samples), audio {:.1} kbit/s; main stage {:.1} fps at {}x{}, \
             video {:.1} kbit/s; freezes +{:.0} ({:.1} s in all, longest {:.1} s); link to \
             the hall {} pkts {:.1} kbit/s passed, {} queue drops, {} lost; from the hall {} \
             pkts {:.1} kbit/s, {} queue drops, {} lost; the hall {rejoined}",
            e.secs,
            e.concealment() * 100.0,
            e.audio_concealed,
            e.audio_samples,
            e.audio_kbps,
            e.stage_fps,
            e.stage_size.0,
            e.stage_size.1,
            e.video_kbps,
            e.freezes,
            e.freeze_secs,
            e.longest_freeze,
            down.passed_packets,
            down.passed_bytes as f64 * 8.0 / e.secs / 1000.0,
            down.queue_drops,
            down.loss_drops,
            up.passed_packets,
            up.passed_bytes as f64 * 8.0 / e.secs / 1000.0,
            up.queue_drops,
            up.loss_drops,
        );
        Ok((e, down, up))
    }

    /// The hall's attendance periods in the meeting, from the API.
    pub async fn hall_periods(&self) -> anyhow::Result<Vec<Value>> {
        let attendance = self
            .api
            .json(&format!("/meetings/{}/attendance", self.meeting_id))
            .await?;
        Ok(attendance
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["unit"] == HALL_UNIT)
            .and_then(|u| u["periods"].as_array().cloned())
            .unwrap_or_default())
    }

    /// Ends the meeting: the link back to normal, both browsers closed, then the link's
    /// namespace and the server.
    pub async fn close(self) -> anyhow::Result<()> {
        // The link back to normal so that the hall's browser closes promptly.
        self.link.cut(false);
        self.link.set(Impairment::default());
        self.hall.close().await?;
        self.province.close().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(self.link);
        drop(self.server);
        Ok(())
    }
}
