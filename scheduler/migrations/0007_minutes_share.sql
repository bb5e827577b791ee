-- Drafts of the minutes and the notice shown to the invited units: only when the
-- secretary shares them (a row here); before that only the editors and the organizing
-- unit's own staff may read or download a draft. Issued documents are for every reader.
CREATE TABLE minutes_shares (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    shared_by TEXT NOT NULL REFERENCES users (id),
    shared_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, kind)
);
