-- cloakroom: the PostgreSQL session table, for those who run their own migrations.
-- PostgresStore.migrate() runs exactly these statements (a test keeps them in sync).
-- Rename the table (and the index) here if you pass another `table` option; prefix a schema if you pass `schema`.
--   key                  SHA-256 of the session id, base64url (the raw id is never stored)
--   data                 the session's key/values
--   created_at           epoch milliseconds, kept across renew
--   absolute_expires_at  the hard end of the session's life, or NULL
--   expires_at           idle expiry, judged against the database's now()
--   forward_to           NULL on a session; set on a 60-second marker, which never loads: the successor's
--                        key on a renewed id's forwarding marker, '' on a deleted id's purge marker

CREATE TABLE IF NOT EXISTS "cloakroom_sessions" (
  key text PRIMARY KEY,
  data jsonb NOT NULL,
  created_at bigint NOT NULL,
  absolute_expires_at timestamptz,
  expires_at timestamptz NOT NULL,
  forward_to text
);

CREATE INDEX IF NOT EXISTS "cloakroom_sessions_expires_at_idx" ON "cloakroom_sessions" (expires_at);
