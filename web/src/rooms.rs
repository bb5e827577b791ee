//! The scheduler as signaling's room directory: a meeting's room (`m-<id>`) is titled
//! with the meeting, expects its invited units (the chair's roll call) and pulls in
//! their own rooms while it is open; a unit's own room (`u-<code>`) is titled with the
//! unit's name. It also decides which rooms a chair may pull into its conference.

use bridge_scheduler::{Db, MeetingId, UnitCode};
use bridge_sfu::RoomId;
use bridge_signaling::directory::LinkPermission;
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

    /// Whether `conference` may hold `room`: only unit rooms, and for a meeting those of
    /// its invited units and below them, for a unit's own room those below the unit
    /// (a district chairing its communes ad hoc). An ad-hoc room holds none: it has
    /// nobody in the unit tree to answer for.
    async fn reaches(
        &self,
        conference: &str,
        room: &str,
    ) -> Result<LinkPermission, bridge_scheduler::SchedError> {
        let Some(unit) = room
            .strip_prefix("u-")
            .and_then(|c| UnitCode::parse(c).ok())
        else {
            return Ok(refused(
                "only a unit's own room can be pulled into a conference",
            ));
        };
        if let Some(id) = conference.strip_prefix("m-")
            && let Ok(id) = MeetingId::parse(id)
        {
            return Ok(if self.db.meeting_reaches(id, &unit).await? {
                LinkPermission::Allowed
            } else {
                refused("that unit is neither invited to this meeting nor below an invited unit")
            });
        }
        if let Some(own) = conference.strip_prefix("u-")
            && let Ok(own) = UnitCode::parse(own)
        {
            return Ok(if self.db.unit_is_below(&own, &unit).await? {
                LinkPermission::Allowed
            } else {
                refused("a unit's room can pull in only the rooms of the units below it")
            });
        }
        Ok(refused(
            "only a meeting's room or a unit's own room can pull other rooms in",
        ))
    }
}

fn refused(why: &str) -> LinkPermission {
    LinkPermission::Refused(why.to_owned())
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

    fn may_pull_in<'a>(
        &'a self,
        conference: &'a RoomId,
        room: &'a RoomId,
    ) -> BoxFuture<'a, LinkPermission> {
        Box::pin(async move {
            self.reaches(&conference.0, &room.0)
                .await
                .unwrap_or_else(|e| {
                    // Refuse: a link hands the room to this conference's chairs.
                    tracing::warn!(%conference, %room, error = %e, "could not tell whether the room may be linked");
                    refused("the scheduler could not be asked; try again")
                })
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
