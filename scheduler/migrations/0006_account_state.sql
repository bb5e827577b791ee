-- Account hardening (issue 14): an administrator may disable an account, and a web
-- session ends after a while without a request. Portable: runs on SQLite and PostgreSQL.

-- When the account was disabled (unix seconds); NULL while it may sign in.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- The last request of the session (unix seconds), for the idle timeout. Sessions open
-- at the upgrade count from their sign-in.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
UPDATE sessions SET last_seen_at = created_at;
