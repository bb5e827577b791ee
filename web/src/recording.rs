//! Meeting recording: when a meeting's room (`m-<id>`) opens and the meeting has
//! `record` on, a session taps the room's media group in the SFU and writes the mixed
//! audio (`<n>-audio.ogg`) and the main stage (`<n>-video.ivf`) under
//! `DATA/recordings/<meeting id>/`, a new pair each time the room opens. The rows in
//! `recordings` are written at open, refreshed with the size while recording, and
//! closed when the room closes. A disk error marks that file `failed` with the error
//! and the meeting goes on; files a killed server left open are closed at the next start.
//!
//! The main stage follows the active speaker (top of the SFU's ranking) who has a
//! camera, holding each speaker at least 3 s (`stage.rs`); the switch itself happens at the
//! new speaker's keyframe (the recorder asks for one).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bridge_recorder::{
    AudioPacket, AudioRecorder, RecorderError, SourceId, VideoPacket, VideoRecorder,
};
use bridge_scheduler::recordings::{NewRecording, RecordingId, RecordingKind, meeting_dir};
use bridge_scheduler::{Db, MeetingId};
use bridge_sfu::{RoomId, SfuHandle, TapEvent, TapPacket, TrackId};
use bridge_signaling::RoomEvent;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

mod stage;
use stage::Stage;

/// How often the mix is written and the stage reconsidered.
const TICK: Duration = Duration::from_millis(100);
/// How often the rows' sizes are refreshed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Tap channel size: about 4 s of a 20-site meeting's packets.
const TAP_CAPACITY: usize = 8_192;

/// Why a recording session could not run at all (a file's own errors only fail that file).
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("the media plane refused the tap: {0}")]
    Tap(#[from] bridge_sfu::SfuError),
    #[error("database: {0}")]
    Db(#[from] bridge_scheduler::SchedError),
    #[error("creating the recordings folder: {0}")]
    Folder(#[from] std::io::Error),
}

/// Room events in, recording sessions out; cheap to clone.
#[derive(Clone)]
pub struct MeetingRecorder {
    tx: mpsc::Sender<RoomEvent>,
}

impl MeetingRecorder {
    /// Closes rows a killed server left `recording`, then starts the control task.
    pub async fn start(db: Db, sfu: SfuHandle, data_dir: PathBuf) -> MeetingRecorder {
        recover(&db, &data_dir).await;
        let (tx, rx) = mpsc::channel(1_000);
        tokio::spawn(control(db, sfu, data_dir, rx));
        MeetingRecorder { tx }
    }

    /// Queues a room's opening or closing; never blocks.
    pub fn observe(&self, event: &RoomEvent) {
        let room = match event {
            RoomEvent::Opened { room } | RoomEvent::Closed { room } => room,
            _ => return,
        };
        if room.0.starts_with("m-") && self.tx.try_send(event.clone()).is_err() {
            tracing::warn!(%room, "recording queue full; room event dropped");
        }
    }
}

async fn recover(db: &Db, data_dir: &Path) {
    let rows = match db.unfinished_recordings().await {
        Ok(rows) => rows,
        Err(e) => return tracing::error!(error = %e, "could not list unfinished recordings"),
    };
    for r in rows {
        let path = meeting_dir(data_dir, r.meeting).join(&r.filename);
        let meta = std::fs::metadata(&path).ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let ended = meta
            .and_then(|m| m.modified().ok())
            .map_or_else(OffsetDateTime::now_utc, OffsetDateTime::from);
        tracing::warn!(recording = %r.id, file = %path.display(), size, "closing a recording left open by the previous run");
        if let Err(e) = db.end_recording(r.id, size, None, ended).await {
            tracing::error!(error = %e, "could not close an unfinished recording");
        }
    }
}

async fn control(db: Db, sfu: SfuHandle, data_dir: PathBuf, mut rx: mpsc::Receiver<RoomEvent>) {
    let mut running: HashMap<RoomId, oneshot::Sender<()>> = HashMap::new();
    while let Some(event) = rx.recv().await {
        match event {
            RoomEvent::Opened { room } => {
                let Some(meeting) = room
                    .0
                    .strip_prefix("m-")
                    .and_then(|id| MeetingId::parse(id).ok())
                else {
                    continue;
                };
                match db.meeting_records(meeting).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::error!(%room, error = %e, "cannot tell whether to record");
                        continue;
                    }
                }
                let (stop, stopped) = oneshot::channel();
                // A room that opens again replaces (and so stops) a session still running.
                running.insert(room.clone(), stop);
                let (db, sfu, dir) = (db.clone(), sfu.clone(), meeting_dir(&data_dir, meeting));
                tokio::spawn(async move {
                    if let Err(e) = session(db, sfu, dir, meeting, room.clone(), stopped).await {
                        tracing::error!(%room, error = %e, "recording session failed");
                    }
                });
            }
            RoomEvent::Closed { room } => {
                if let Some(stop) = running.remove(&room) {
                    let _ = stop.send(());
                }
            }
            _ => {}
        }
    }
}

/// One file being written and its row.
struct Output<R> {
    rec: Option<R>,
    id: RecordingId,
    path: PathBuf,
}

impl<R> Output<R> {
    fn size(&self) -> u64 {
        file_size(&self.path)
    }
}

async fn open<R>(
    db: &Db,
    dir: &Path,
    meeting: MeetingId,
    kind: RecordingKind,
    filename: String,
    content_type: &str,
    make: impl FnOnce(File) -> Result<R, RecorderError>,
) -> Result<Output<R>, bridge_scheduler::SchedError> {
    let path = dir.join(&filename);
    let new = NewRecording {
        meeting,
        kind,
        filename: &filename,
        content_type,
    };
    let id = db.start_recording(new, OffsetDateTime::now_utc()).await?;
    let rec = File::create(&path)
        .map_err(RecorderError::from)
        .and_then(make);
    let mut out = Output {
        rec: None,
        id,
        path,
    };
    match rec {
        Ok(r) => out.rec = Some(r),
        Err(e) => fail(db, out.id, &out.path, &e).await,
    }
    Ok(out)
}

async fn fail(db: &Db, id: RecordingId, path: &Path, e: &RecorderError) {
    tracing::error!(file = %path.display(), error = %e, "recording stopped; the meeting goes on");
    let size = file_size(path);
    if let Err(e) = db
        .end_recording(id, size, Some(&e.to_string()), OffsetDateTime::now_utc())
        .await
    {
        tracing::error!(error = %e, "could not mark the recording failed");
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

async fn session(
    db: Db,
    sfu: SfuHandle,
    dir: PathBuf,
    meeting: MeetingId,
    room: RoomId,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), SessionError> {
    let mut tap = sfu.start_tap(&room, TAP_CAPACITY)?;
    let start = Instant::now();
    std::fs::create_dir_all(&dir)?;
    let n = db.recording_count(meeting, RecordingKind::Audio).await? + 1;
    let mut audio = open(
        &db,
        &dir,
        meeting,
        RecordingKind::Audio,
        format!("{n}-audio.ogg"),
        "audio/ogg",
        AudioRecorder::new,
    )
    .await?;
    let mut video = open(
        &db,
        &dir,
        meeting,
        RecordingKind::Video,
        format!("{n}-video.ivf"),
        "video/x-ivf",
        VideoRecorder::new,
    )
    .await?;
    tracing::info!(%room, n, "recording started");
    let mut stage = Stage::default();
    let mut tick = tokio::time::interval(TICK);
    let mut last_progress = Duration::ZERO;
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            ev = tap.events.recv() => match ev {
                Some(TapEvent::Rtp(p)) => {
                    let at = p.at.saturating_duration_since(start);
                    if let Err(e) = feed(&mut audio, &mut video, &mut stage, p, at) {
                        // Only the video side can fail here (writing a frame).
                        fail(&db, video.id, &video.path, &e).await;
                        video.rec = None;
                    }
                }
                Some(TapEvent::Speakers { ordered }) => stage.ranking = ordered,
                None => break,
            },
            _ = tick.tick() => {
                let now = start.elapsed();
                if let Some(a) = audio.rec.as_mut() && let Err(e) = a.advance(now) {
                    fail(&db, audio.id, &audio.path, &e).await;
                    audio.rec = None;
                }
                if let Some(v) = video.rec.as_mut() {
                    if let Some(track) = stage.choose(now) {
                        v.select(SourceId(track.0.clone()), now);
                    }
                    let r = v.advance(now);
                    for source in v.take_keyframe_requests() {
                        let _ = sfu.request_keyframe(&TrackId(source.0));
                    }
                    if let Err(e) = r {
                        fail(&db, video.id, &video.path, &e).await;
                        video.rec = None;
                    }
                }
                if now.saturating_sub(last_progress) >= PROGRESS_EVERY {
                    last_progress = now;
                    for (live, id, size) in [(audio.rec.is_some(), audio.id, audio.size()), (video.rec.is_some(), video.id, video.size())] {
                        if live && let Err(e) = db.recording_progress(id, size).await {
                            tracing::warn!(error = %e, "recording size not updated");
                        }
                    }
                }
            }
        }
    }
    // Dropping the receiver stops the tap in the SFU; what it lost is logged below.
    let dropped = tap.dropped();
    drop(tap);
    let now = start.elapsed();
    let ended = OffsetDateTime::now_utc();
    let audio_stats = audio.rec.as_ref().map(|a| a.stats()).unwrap_or_default();
    let video_stats = video.rec.as_ref().map(|v| v.stats()).unwrap_or_default();
    if let Some(a) = audio.rec.take() {
        match a.finish(now) {
            Ok(_) => {
                db.end_recording(audio.id, audio.size(), None, ended)
                    .await?
            }
            Err(e) => fail(&db, audio.id, &audio.path, &e).await,
        }
    }
    if let Some(v) = video.rec.take() {
        match v.finish(now) {
            Ok(_) => {
                db.end_recording(video.id, video.size(), None, ended)
                    .await?
            }
            Err(e) => fail(&db, video.id, &video.path, &e).await,
        }
    }
    tracing::info!(
        %room,
        n,
        seconds = now.as_secs(),
        tap_dropped = dropped,
        late_audio = audio_stats.late_packets,
        audio_decode_errors = audio_stats.decode_errors,
        video_frames = video_stats.frames_written,
        video_frames_dropped = video_stats.frames_dropped,
        "recording finished"
    );
    Ok(())
}

fn feed(
    audio: &mut Output<AudioRecorder<File>>,
    video: &mut Output<VideoRecorder<File>>,
    stage: &mut Stage,
    p: TapPacket,
    at: Duration,
) -> Result<(), RecorderError> {
    let mime = p.mime.to_ascii_lowercase();
    if mime == "audio/opus" {
        if let Some(a) = audio.rec.as_mut() {
            let packet = AudioPacket {
                source: SourceId(p.track_id.0),
                ssrc: p.ssrc,
                sequence: p.sequence,
                timestamp: p.timestamp,
                payload: p.payload,
                arrival: at,
            };
            // A decoder that cannot be created drops this source's packet only.
            let _ = a.push(packet);
        }
        return Ok(());
    }
    // The lowest simulcast layer is always sent while anyone watches; one layer keeps
    // the stream decodable without layer switching.
    if mime != "video/vp8" || p.layer != 0 {
        return Ok(());
    }
    stage.saw_video(&p.participant_id, &p.track_id, p.source, at);
    let Some(v) = video.rec.as_mut() else {
        return Ok(());
    };
    v.push(VideoPacket {
        source: SourceId(p.track_id.0),
        ssrc: p.ssrc,
        sequence: p.sequence,
        timestamp: p.timestamp,
        marker: p.marker,
        payload: p.payload,
        arrival: at,
    })
}
