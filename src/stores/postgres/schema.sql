-- cloakroom: the PostgreSQL session table, for those who run their own migrations.
-- PostgresStore.migrate() runs exactly these statements (a test keeps them in sync); they create the tables
-- and also upgrade a table made by an earlier release, keeping its sessions. migrate() skips the ALTER
-- when the columns are already there, because ALTER TABLE locks the table even when it has nothing to add.
-- Rename the tables (and the indexes) here if you pass another `table` option; prefix a schema if you pass `schema`.
--   key                  SHA-256 of the session id, base64url (the raw id is never stored)
--   data                 the session's key/values
--   created_at           epoch milliseconds, kept across renew
--   absolute_expires_at  the hard end of the session's life, or NULL
--   expires_at           idle expiry, judged against the database's now()
--   forward_to           NULL on a session; set on a 60-second marker, which never loads: the successor's
--                        key on a renewed id's forwarding marker, '' on a deleted id's purge marker
--   user_id              the user the session is filed under (the manager's userKey), or NULL; indexed
--   user_handle          the session's revocation handle (random, chosen by the manager)
--   last_seen_at         epoch milliseconds the session was last seen in use
--   user_info            what the manager's `describe` returned, a JSON object of strings
-- cloakroom_sessions_revocations holds the cookie store's revocation marks (store.revocationList()):
--   user_id              the user, or '*' for everyone
--   before               epoch milliseconds: the user's sessions created before it no longer load
--   except_handle        the handle of the one session spared, or NULL
--   expires_at           when the mark stops applying (database clock), or NULL for good

CREATE TABLE IF NOT EXISTS "cloakroom_sessions" (
  key text PRIMARY KEY,
  data jsonb NOT NULL,
  created_at bigint NOT NULL,
  absolute_expires_at timestamptz,
  expires_at timestamptz NOT NULL,
  forward_to text
);

ALTER TABLE "cloakroom_sessions"
  ADD COLUMN IF NOT EXISTS user_id text,
  ADD COLUMN IF NOT EXISTS user_handle text,
  ADD COLUMN IF NOT EXISTS last_seen_at bigint,
  ADD COLUMN IF NOT EXISTS user_info jsonb;

CREATE INDEX IF NOT EXISTS "cloakroom_sessions_expires_at_idx" ON "cloakroom_sessions" (expires_at);

CREATE INDEX IF NOT EXISTS "cloakroom_sessions_user_id_idx" ON "cloakroom_sessions" (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS "cloakroom_sessions_revocations" (
  user_id text PRIMARY KEY,
  before bigint NOT NULL,
  except_handle text,
  expires_at timestamptz
);
