//! Attendance from room events: signaling tells `SchedulerRooms::observe` what happened,
//! this queues it, and one task writes it to the scheduler database in order. A join
//! never waits for the database; a full queue (the database stalled for a long time)
//! drops events with a warning rather than slowing the rooms.

use std::time::{Duration, SystemTime};

use bridge_scheduler::Db;
use bridge_scheduler::attendance::JoinRecord;
use bridge_signaling::RoomEvent;
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Events waiting to be written. At the province's 221 sites a full meeting joining at
/// once is a few hundred events; this leaves room for minutes of a stalled database.
pub const QUEUE_CAPACITY: usize = 10_000;
/// How often open periods are marked alive, bounding what a killed server loses.
pub const HEARTBEAT: Duration = Duration::from_secs(60);

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct AttendanceRecorder {
    tx: mpsc::Sender<(RoomEvent, SystemTime)>,
}

impl AttendanceRecorder {
    /// Closes what a previous, killed server left open, then starts the writer task.
    pub async fn start(db: Db) -> AttendanceRecorder {
        match db.close_unfinished_attendance().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                periods = n,
                "closed attendance periods left open by the previous run at its last heartbeat"
            ),
            Err(e) => tracing::error!(error = %e, "could not close unfinished attendance"),
        }
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_loop(db, rx));
        AttendanceRecorder { tx }
    }

    /// Queues one event; never blocks.
    pub fn observe(&self, event: &RoomEvent, at: SystemTime) {
        if let Err(e) = self.tx.try_send((event.clone(), at)) {
            tracing::warn!(error = %e, "attendance queue full or closed; event dropped");
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<(RoomEvent, SystemTime)>) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            next = rx.recv() => {
                let Some((event, at)) = next else { return };
                if let Err(e) = write(&db, &event, to_time(at)).await {
                    tracing::error!(error = %e, ?event, "attendance not recorded");
                }
            }
            _ = beat.tick() => {
                if let Err(e) = db.attendance_heartbeat(OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = %e, "attendance heartbeat failed");
                }
            }
        }
    }
}

async fn write(db: &Db, event: &RoomEvent, at: OffsetDateTime) -> bridge_scheduler::Result<()> {
    match event {
        RoomEvent::Opened { room } => db.attendance_room_opened(&room.0, at).await,
        RoomEvent::Closed { room } => db.attendance_room_closed(&room.0, at).await,
        RoomEvent::Joined {
            room,
            participant,
            name,
            unit,
            role,
        } => {
            let record = JoinRecord {
                room: &room.0,
                participant: &participant.0,
                name,
                unit: unit.as_deref(),
                role: role.as_str(),
            };
            db.attendance_joined(&record, at).await
        }
        RoomEvent::Left {
            room,
            participant,
            speaking,
        } => {
            db.attendance_left(&room.0, &participant.0, *speaking, at)
                .await
        }
    }
}

fn to_time(at: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(at)
}
