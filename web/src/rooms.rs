//! The scheduler as signaling's room directory: a meeting's room (`m-<id>`) is titled
//! with the meeting, expects its invited units (the chair's roll call) and pulls in
//! their own rooms while it is open; a unit's own room (`u-<code>`) is titled with the
//! unit's name.

use bridge_scheduler::{Db, MeetingId, UnitCode};
use bridge_sfu::RoomId;
use bridge_signaling::messages::LinkedRoom;
use bridge_signaling::rollcall::Site;
use bridge_signaling::{BoxFuture, RoomDirectory, RoomInfo};

pub struct SchedulerRooms {
    pub db: Db,
    /// Records who was in which room when (see `crate::attendance`).
    pub attendance: Option<crate::attendance::AttendanceRecorder>,
    /// Records meetings that ask for it (see `crate::recording`).
    pub recorder: Option<crate::recording::MeetingRecorder>,
}

impl SchedulerRooms {
    async fn lookup(&self, room: &str) -> Result<Option<RoomInfo>, bridge_scheduler::SchedError> {
        if let Some(id) = room.strip_prefix("m-") {
            let Ok(id) = MeetingId::parse(id) else {
                return Ok(None);
            };
            let meeting = self.db.load_meeting(id).await?;
            let invited = self.db.invited_units(id).await?;
            let links = invited
                .iter()
                .map(|(unit, name)| LinkedRoom {
                    room: RoomId(format!("u-{unit}")),
                    title: Some(name.clone()),
                })
                .collect();
            let expected = invited
                .into_iter()
                .map(|(unit, name)| Site {
                    unit: unit.to_string(),
                    name,
                })
                .collect();
            return Ok(Some(RoomInfo {
                title: Some(meeting.title),
                expected,
                links,
            }));
        }
        if let Some(code) = room.strip_prefix("u-") {
            let Ok(code) = UnitCode::parse(code) else {
                return Ok(None);
            };
            let unit = self.db.unit(&code).await?;
            return Ok(Some(RoomInfo {
                title: Some(unit.name),
                expected: Vec::new(),
                links: Vec::new(),
            }));
        }
        Ok(None)
    }
}

impl RoomDirectory for SchedulerRooms {
    fn describe<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Option<RoomInfo>> {
        Box::pin(async move {
            match self.lookup(&room.0).await {
                Ok(info) => info,
                Err(e) => {
                    // An unknown meeting or unit is an ad-hoc room; the join goes on.
                    tracing::debug!(%room, error = %e, "room not described by the scheduler");
                    None
                }
            }
        })
    }

    fn observe(&self, event: bridge_signaling::RoomEvent, at: std::time::SystemTime) {
        if let Some(r) = &self.recorder {
            r.observe(&event);
        }
        if let Some(a) = &self.attendance {
            a.observe(&event, at);
        }
    }
}
