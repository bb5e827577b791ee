//! Who shows whom in the conference, as the room page of each participant would. Every
//! participant joins with `default_view: off` and sends a `view` only for what it shows:
//! a site shows the main stage (the floor holder, else the chair) at `high` and the
//! latest speaker other than the main stage and itself as a thumbnail (`low`); the chair
//! shows its page of sites as thumbnails and the floor holder at `high`. Track ids come
//! from what the room publishes (`joined`, `track_published`), received or not. The
//! `view` messages are paced under the server's signaling rate limit (50 messages/s,
//! bursts of 100).

use bridge_e2e::client::{Client, Quality};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Views per second a participant sends at most (pings need some room too).
const VIEWS_PER_SECOND: f64 = 40.0;
const BURST: f64 = 40.0;
const TICK: Duration = Duration::from_millis(100);

pub enum Layout {
    /// A site: the floor holder, else the chair, is its main stage.
    Site { chair: String },
    /// The chair: these sites are on its page.
    Chair { page: HashSet<String> },
}

/// One participant's layout and what it told the server so far.
pub struct Viewer {
    layout: Layout,
    /// Per track, the quality last sent; absent means `off` (the default we joined with).
    sent: HashMap<String, Quality>,
    /// The latest speaker besides the main stage and ourselves; it stays shown while
    /// silent until another one speaks, as a room page keeps its speaker tile.
    speaker: Option<String>,
    room_seen: Option<u64>,
    speakers_seen: Vec<String>,
    pending: Vec<(String, Quality)>,
    tokens: f64,
    refilled: Instant,
    pub views_sent: u64,
}

impl Viewer {
    pub fn new(layout: Layout) -> Self {
        Viewer {
            layout,
            sent: HashMap::new(),
            speaker: None,
            room_seen: None,
            speakers_seen: Vec::new(),
            pending: Vec::new(),
            tokens: BURST,
            refilled: Instant::now(),
            views_sent: 0,
        }
    }

    /// The participant on our main stage: the floor holder unless that is us, else the
    /// chair (a site), or the floor holder alone (the chair's console).
    fn main_stage(&self, me: &str, holder: Option<&str>) -> Option<String> {
        let holder = holder.filter(|h| *h != me);
        match &self.layout {
            Layout::Site { chair } => Some(holder.unwrap_or(chair).to_owned()),
            Layout::Chair { .. } => holder.map(str::to_owned),
        }
    }

    fn wanted(&self, participant: &str, main: Option<&str>) -> Quality {
        if main == Some(participant) {
            return Quality::High;
        }
        match &self.layout {
            Layout::Site { .. } if self.speaker.as_deref() == Some(participant) => Quality::Low,
            Layout::Chair { page } if page.contains(participant) => Quality::Low,
            _ => Quality::Off,
        }
    }

    /// Recomputes what to send when the room (tracks, floor) or the speakers changed,
    /// then sends what the rate allows.
    pub fn tick(&mut self, c: &Client) -> anyhow::Result<()> {
        let room = c.room_version();
        let speakers = c.active_speakers();
        if Some(room) != self.room_seen || speakers != self.speakers_seen {
            self.room_seen = Some(room);
            let holder = c.floor_holder();
            let main = self.main_stage(&c.id, holder.as_deref());
            if let Some(p) = speakers
                .iter()
                .find(|p| **p != c.id && Some(p.as_str()) != main.as_deref())
            {
                self.speaker = Some(p.clone());
            }
            self.speakers_seen = speakers;
            let cameras: Vec<_> = c
                .published_tracks()
                .into_iter()
                .filter(|t| t.source == "camera" && t.participant_id != c.id)
                .collect();
            // Tracks no longer published need no view.
            let live: HashSet<&str> = cameras.iter().map(|t| t.track_id.as_str()).collect();
            self.sent.retain(|t, _| live.contains(t.as_str()));
            let mut pending: Vec<(String, Quality)> = cameras
                .iter()
                .filter_map(|t| {
                    let q = self.wanted(&t.participant_id, main.as_deref());
                    let now = self.sent.get(&t.track_id).copied().unwrap_or(Quality::Off);
                    (q != now).then(|| (t.track_id.clone(), q))
                })
                .collect();
            // What should be seen goes first; turning videos off can wait a tick.
            pending.sort_by_key(|(_, q)| *q == Quality::Off);
            pending.reverse();
            self.pending = pending;
        }
        let now = Instant::now();
        let dt = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + dt * VIEWS_PER_SECOND).min(BURST);
        while self.tokens >= 1.0 {
            // `pending` is reversed: its end is the most urgent.
            let Some((track, q)) = self.pending.pop() else {
                break;
            };
            c.view(&track, q)?;
            self.sent.insert(track, q);
            self.tokens -= 1.0;
            self.views_sent += 1;
        }
        Ok(())
    }

    pub fn settled(&self) -> bool {
        self.room_seen.is_some() && self.pending.is_empty()
    }
}

type Viewers = Arc<Mutex<Vec<(Arc<Client>, Viewer)>>>;

/// Everyone's viewer, ticked by one task until dropped.
#[derive(Default, Clone)]
pub struct Director {
    viewers: Viewers,
}

impl Director {
    pub fn add(&self, c: Arc<Client>, layout: Layout) {
        if let Ok(mut v) = self.viewers.lock() {
            v.push((c, Viewer::new(layout)));
        }
    }

    /// Puts a participant that joined again in the place of its old client.
    pub fn replace(&self, old_id: &str, c: Arc<Client>, layout: Layout) {
        if let Ok(mut v) = self.viewers.lock()
            && let Some(slot) = v.iter_mut().find(|(o, _)| o.id == old_id)
        {
            *slot = (c, Viewer::new(layout));
        }
    }

    /// Runs the views until the returned task is aborted. A participant whose socket is
    /// gone stops getting views; the run notices it by its missing media.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let viewers = self.viewers.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                if let Ok(mut v) = viewers.lock() {
                    for (c, viewer) in v.iter_mut() {
                        let _ = viewer.tick(c);
                    }
                }
            }
        })
    }

    /// True when every viewer has sent all the views its layout needs.
    pub fn settled(&self) -> bool {
        self.viewers
            .lock()
            .map(|v| v.iter().all(|(_, w)| w.settled()))
            .unwrap_or(false)
    }

    pub fn views_sent(&self) -> u64 {
        self.viewers
            .lock()
            .map(|v| v.iter().map(|(_, w)| w.views_sent).sum())
            .unwrap_or(0)
    }

    /// Gives the clients back (for `leave`) once the task is stopped.
    pub fn take(&self) -> Vec<Arc<Client>> {
        self.viewers
            .lock()
            .map(|mut v| v.drain(..).map(|(c, _)| c).collect())
            .unwrap_or_default()
    }
}
