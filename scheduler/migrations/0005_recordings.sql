-- Server-side recording of meetings (scheduler/src/recordings.rs). The files live under
-- DATA/recordings/<meeting id>/; a row is written when a file is opened, its size is
-- refreshed while recording, and it is closed as done or failed (with the error).

-- Whether the meeting is recorded when its room opens (0/1).
ALTER TABLE meetings ADD COLUMN record BIGINT NOT NULL DEFAULT 0;

CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- 'audio' | 'video'
    kind TEXT NOT NULL,
    -- relative to the meeting's recordings folder, e.g. 1-audio.ogg
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    -- NULL while recording
    ended_at BIGINT,
    -- 'recording' | 'done' | 'failed'
    status TEXT NOT NULL,
    error TEXT
);
CREATE INDEX recordings_meeting ON recordings (meeting_id, started_at);
CREATE INDEX recordings_status ON recordings (status);
