-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see db.rs for why one script).
-- Times are UTC unix seconds (BIGINT); flags are BIGINT 0/1; ids are TEXT (UUID / unit code).

CREATE TABLE units (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES units (code),
    level BIGINT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- lower-case name without diacritics, for the unit picker ("doan hung" finds Đoan Hùng)
    search_key TEXT NOT NULL,
    -- materialized path "/25/227/07888/": ancestors are readable without a query
    path TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    room TEXT NOT NULL UNIQUE
);
CREATE INDEX units_parent ON units (parent_code);
CREATE INDEX units_level ON units (level);

-- Closure table: one row per (ancestor, descendant) incl. the unit itself at depth 0.
-- Subtree queries become an indexed equality join on both databases, which a LIKE on
-- the path is not under PostgreSQL's default collations.
CREATE TABLE unit_ancestors (
    ancestor_code TEXT NOT NULL REFERENCES units (code) ON DELETE CASCADE,
    unit_code TEXT NOT NULL REFERENCES units (code) ON DELETE CASCADE,
    depth BIGINT NOT NULL,
    PRIMARY KEY (ancestor_code, unit_code)
);
CREATE INDEX unit_ancestors_unit ON unit_ancestors (unit_code);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    unit_code TEXT REFERENCES units (code),
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    organizer_code TEXT NOT NULL REFERENCES units (code),
    chair_user_id TEXT REFERENCES users (id),
    location TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    urgent BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    rrule TEXT,
    exdates TEXT NOT NULL,
    selection TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX meetings_organizer ON meetings (organizer_code);

CREATE TABLE agenda_items (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (meeting_id, position)
);

-- Every meeting has >= 1 occurrence (recurring ones are expanded up to a horizon), so
-- "upcoming" and "conflict" queries treat one-off and recurring meetings alike.
CREATE TABLE occurrences (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, starts_at)
);
CREATE INDEX occurrences_ends ON occurrences (ends_at);
CREATE INDEX occurrences_starts ON occurrences (starts_at);

CREATE TABLE invitations (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    unit_code TEXT NOT NULL REFERENCES units (code),
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    PRIMARY KEY (meeting_id, unit_code)
);
CREATE INDEX invitations_unit ON invitations (unit_code, meeting_id);
