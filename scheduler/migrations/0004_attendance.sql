-- Attendance: who was connected to which room, when. Written by the binary from the
-- signaling room events; read back per meeting (scheduler/src/attendance.rs).
-- No foreign keys to meetings or units: rooms may be ad hoc, and a recorded period must
-- survive a unit or meeting being edited later.

-- One presence period of one participant (one WebSocket session) in one room.
CREATE TABLE attendance (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    -- set for meeting rooms (m-<uuid>)
    meeting_id TEXT,
    -- the participant's unit from its join token, else the unit of a u-<code> room
    unit_code TEXT,
    participant TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    -- NULL while present
    left_at BIGINT,
    -- last time the server was known to be alive with this period open (heartbeat);
    -- a period left open by a killed server is closed at this time on the next start
    last_seen BIGINT NOT NULL,
    speaking_seconds BIGINT NOT NULL
);
CREATE INDEX attendance_room ON attendance (room, joined_at);
CREATE INDEX attendance_participant ON attendance (participant, left_at);

-- When a room was open (first participant joined .. last one left): a meeting room's
-- open times bound the presence counted in the unit rooms it links in.
CREATE TABLE room_sessions (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    -- NULL while open
    closed_at BIGINT,
    last_seen BIGINT NOT NULL
);
CREATE INDEX room_sessions_room ON room_sessions (room, opened_at);
