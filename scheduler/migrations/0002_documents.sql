-- Files attached to a meeting (agenda papers, reports). The bytes live on disk under
-- DATA/documents/<id>; this row is written only after the file is complete, so a failed
-- or refused upload leaves neither.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX documents_meeting ON documents (meeting_id, uploaded_at);

-- Where invitations are e-mailed when SMTP is configured.
ALTER TABLE users ADD COLUMN email TEXT;
