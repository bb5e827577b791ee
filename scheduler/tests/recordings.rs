//! Recording rows and the meeting's `record` flag, on both databases.

mod common;

use bridge_scheduler::recordings::{NewRecording, RecordingKind, RecordingStatus};
use bridge_scheduler::{Db, MeetingId, Role, SchedError};
use common::*;
use time::Duration;

/// A meeting of the province (25) inviting Việt Trì (227), recorded.
async fn meeting(db: &Db) -> MeetingId {
    phu_tho(db).await;
    let sec = user(db, "vp.tinh", Role::Secretary, Some("25")).await;
    let mut d = draft("Giao ban", "25", vec![unit_sel("227")], 1, 2);
    d.record = true;
    let saved = db.create_meeting(&sec, d, now()).await.unwrap().meeting;
    assert!(saved.record);
    saved.id
}

both_dbs!(record_flag_is_saved_and_edited, |db: Db| async move {
    let id = meeting(&db).await;
    assert!(db.meeting_records(id).await.unwrap());
    let sec = user(&db, "vp.tinh2", Role::Secretary, Some("25")).await;
    let mut d = draft("Giao ban", "25", vec![unit_sel("227")], 1, 2);
    d.record = false;
    let edited = db.update_meeting(&sec, id, 0, d, now()).await.unwrap();
    assert!(!edited.meeting.record);
    assert!(!db.meeting_records(id).await.unwrap());
    assert!(!db.meeting_records(MeetingId::new_random()).await.unwrap());
});

both_dbs!(
    recordings_are_listed_to_invited_units_only,
    |db: Db| async move {
        let id = meeting(&db).await;
        let new = |kind, filename| NewRecording {
            meeting: id,
            kind,
            filename,
            content_type: "audio/ogg",
        };
        let audio = db
            .start_recording(new(RecordingKind::Audio, "1-audio.ogg"), now())
            .await
            .unwrap();
        let video = db
            .start_recording(new(RecordingKind::Video, "1-video.ivf"), now())
            .await
            .unwrap();
        assert_eq!(
            db.recording_count(id, RecordingKind::Audio).await.unwrap(),
            1
        );
        db.recording_progress(audio, 4096).await.unwrap();
        assert_eq!(db.unfinished_recordings().await.unwrap().len(), 2);
        db.end_recording(audio, 8192, None, now() + Duration::minutes(30))
            .await
            .unwrap();
        db.end_recording(
            video,
            100,
            Some("the disk is full"),
            now() + Duration::minutes(1),
        )
        .await
        .unwrap();
        assert!(db.unfinished_recordings().await.unwrap().is_empty());

        let site = user(&db, "tp.227", Role::Site, Some("227")).await;
        let rows = db.recordings(&site, id).await.unwrap();
        assert_eq!(rows.len(), 2);
        let a = rows
            .iter()
            .find(|r| r.kind == RecordingKind::Audio)
            .unwrap();
        assert_eq!(
            (a.status, a.size, a.error.as_deref()),
            (RecordingStatus::Done, 8192, None)
        );
        assert_eq!(a.ended_at, Some(now() + Duration::minutes(30)));
        let v = db.recording(&site, id, video).await.unwrap();
        assert_eq!(v.status, RecordingStatus::Failed);
        assert_eq!(v.error.as_deref(), Some("the disk is full"));

        let outsider = user(&db, "tx.228", Role::Site, Some("228")).await;
        assert!(matches!(
            db.recordings(&outsider, id).await,
            Err(SchedError::Forbidden(_))
        ));
        assert!(matches!(
            db.recording(&outsider, id, audio).await,
            Err(SchedError::Forbidden(_))
        ));
    }
);
