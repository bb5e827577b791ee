-- Minutes (biên bản, kind 'BB') and conclusion notices (thông báo kết luận, kind 'TB'):
-- one record per meeting and kind, every save a version, a register of issued numbers,
-- and the notice's follow-up tasks in their own tables so a unit's list is indexed.

CREATE TABLE minutes_docs (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    -- 'draft' or 'final'; a final record is never written again except for tasks' status
    state TEXT NOT NULL,
    -- the latest version number; a save names it (optimistic concurrency)
    version BIGINT NOT NULL,
    number_seq BIGINT,
    number_year BIGINT,
    finalized_at BIGINT,
    finalized_by TEXT REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, kind)
);

CREATE TABLE minutes_versions (
    meeting_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    author TEXT NOT NULL REFERENCES users (id),
    saved_at BIGINT NOT NULL,
    -- JSON of the bridge-minutes model (the notice adds its tasks with unit codes)
    body TEXT NOT NULL,
    PRIMARY KEY (meeting_id, kind, version),
    FOREIGN KEY (meeting_id, kind) REFERENCES minutes_docs (meeting_id, kind) ON DELETE CASCADE
);

-- The register (sổ đăng ký văn bản): numbers restart each year and are unique per
-- issuing unit and kind; the primary key is what makes concurrent finalizations safe.
CREATE TABLE doc_numbers (
    issuer_code TEXT NOT NULL REFERENCES units (code),
    year BIGINT NOT NULL,
    kind TEXT NOT NULL,
    seq BIGINT NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    PRIMARY KEY (issuer_code, year, kind, seq)
);

CREATE TABLE notice_tasks (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    lead_unit TEXT NOT NULL REFERENCES units (code),
    -- Julian day number of the deadline (a date in Vietnam time)
    deadline_day BIGINT NOT NULL,
    -- 'open', 'in_progress' or 'done'; overdue is derived, never stored
    status TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notice_tasks_meeting ON notice_tasks (meeting_id, position);
CREATE INDEX notice_tasks_lead ON notice_tasks (lead_unit, deadline_day);

CREATE TABLE notice_task_support (
    task_id TEXT NOT NULL REFERENCES notice_tasks (id) ON DELETE CASCADE,
    unit_code TEXT NOT NULL REFERENCES units (code),
    PRIMARY KEY (task_id, unit_code)
);
CREATE INDEX notice_task_support_unit ON notice_task_support (unit_code);

-- The signed PDF of final minutes (PAdES), kept as issued: the bytes must never be
-- re-rendered, or the signature would no longer cover what is served. Base64 text
-- because one column type for bytes does not exist on both databases.
CREATE TABLE minutes_signed (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    -- the final version that was signed
    version BIGINT NOT NULL,
    pdf_base64 TEXT NOT NULL,
    signed_by TEXT NOT NULL REFERENCES users (id),
    signed_at BIGINT NOT NULL
);
