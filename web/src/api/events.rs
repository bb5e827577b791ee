//! Live meeting alerts for open unit dashboards, as Server-Sent Events. One broadcast
//! channel; each subscriber keeps only events whose invited units include its own, so an
//! urgent session reaches every open dashboard of the invited units at once, and an
//! acknowledgement reaches every dashboard of the acknowledging unit and the organizer's.
//! A dashboard opened later learns of calls it missed from `/units/{code}/pending-urgent`.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use bridge_scheduler::meetings::{AckRecord, MeetingView};
use bridge_scheduler::{Meeting, MeetingId, Principal, SchedError, UnitCode, authz};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;

/// Buffered events per subscriber before it is told to resync.
const CHANNEL_CAPACITY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Updated,
    Cancelled,
    /// `unit` acknowledged at `acknowledged_at`: its other screens stop alerting, the
    /// organizer's office table updates.
    Acknowledged,
}

/// What a dashboard receives (`event: meeting`); it then fetches details if needed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeetingEvent {
    pub kind: EventKind,
    pub meeting: MeetingId,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: time::OffsetDateTime,
    pub urgent: bool,
    pub organizer: UnitCode,
    /// The acknowledging unit (`acknowledged` events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitCode>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub acknowledged_at: Option<time::OffsetDateTime>,
    #[serde(skip)]
    #[schema(ignore)]
    pub units: HashSet<String>,
}

/// The fan-out hub; cheap to clone.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<MeetingEvent>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
}

impl Events {
    /// Announces a saved meeting to the dashboards of its invited units.
    pub fn publish(&self, kind: EventKind, view: &MeetingView, also: Vec<String>) {
        let m = &view.meeting;
        let ev = MeetingEvent {
            kind,
            meeting: m.id,
            title: m.title.clone(),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            urgent: m.urgent,
            organizer: m.organizer.clone(),
            unit: None,
            acknowledged_at: None,
            units: view
                .invitations
                .iter()
                .map(|i| i.unit.to_string())
                .chain(also)
                .collect(),
        };
        // No subscriber is not an error: nobody has a dashboard open.
        let _ = self.tx.send(Arc::new(ev));
    }

    /// Tells the acknowledging unit's dashboards (all its devices) and the organizer's
    /// (the office following the call) that `rec.unit` has acknowledged meeting `m`.
    pub fn publish_ack(&self, m: &Meeting, rec: &AckRecord) {
        let ev = MeetingEvent {
            kind: EventKind::Acknowledged,
            meeting: m.id,
            title: m.title.clone(),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            urgent: m.urgent,
            organizer: m.organizer.clone(),
            unit: Some(rec.unit.clone()),
            acknowledged_at: Some(rec.acknowledged_at),
            units: [rec.unit.to_string(), m.organizer.to_string()].into(),
        };
        let _ = self.tx.send(Arc::new(ev));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<MeetingEvent>> {
        self.tx.subscribe()
    }
}

/// Publishes after a write; the meeting is re-read with the caller's rights (who just
/// saved it, so may see it). A failure here must not turn a saved meeting into an error.
pub(super) async fn announce(
    st: &ApiState,
    p: &Principal,
    id: MeetingId,
    kind: EventKind,
    also: Vec<String>,
) {
    match st.db.meeting(p, id).await {
        Ok(view) => {
            // Open dashboards hear at once; mailboxes (when configured) soon after.
            super::invite_mail::send(st, p, &view, also.clone());
            st.events.publish(kind, &view, also)
        }
        Err(e) => tracing::warn!(error = %e, %id, "meeting saved but not announced"),
    }
}

fn stream_for(
    rx: broadcast::Receiver<Arc<MeetingEvent>>,
    unit: String,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((rx, unit), |(mut rx, unit)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.units.contains(&unit) => {
                    if let Ok(e) = Event::default().event("meeting").json_data(&*ev) {
                        return Some((Ok(e), (rx, unit)));
                    }
                }
                Ok(_) => {}
                // Too slow to keep up: tell the page to reload its list.
                Err(RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("resync").data("{}")), (rx, unit)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Live alerts for one unit's dashboard (text/event-stream; `event: meeting` with a
/// MeetingEvent, `event: resync` when the page should reload its list).
#[utoipa::path(get, path = "/units/{code}/events", params(("code" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", body = MeetingEvent), (status = 403, body = Problem)))]
pub async fn unit_events(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(code): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let code = UnitCode::parse(&code)?;
    let unit = st.db.unit(&code).await?;
    if !authz::can_view_unit(&p, &code, &unit.path) {
        return Err(SchedError::Forbidden(format!("you may not follow unit {code}")).into());
    }
    let rx = st.events.subscribe();
    Ok(Sse::new(stream_for(rx, code.to_string())).keep_alive(KeepAlive::default()))
}
