import { ConfigError } from '../../core/errors.js'
import { MARKER_WINDOW_MS } from '../../core/store.js'
import { userStatements } from './sql-users.js'
import type { UserStatements } from './sql-users.js'

// Unquoted-identifier shape only: no quoting tricks, no case surprises, and room for the index
// names (`<table>_expires_at_idx`) and the revocation table (`<table>_revocations`) inside
// PostgreSQL's 63-byte identifier limit.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** How long the markers of `renew` (forwarding) and `delete` (purge) answer, in seconds. */
export const MARKER_WINDOW_SECONDS = MARKER_WINDOW_MS / 1000

// A fixed key for `pg_advisory_xact_lock`, shared by every cloakroom migration on a database so
// that parallel `migrate()` calls queue instead of racing on the catalog.
const MIGRATE_LOCK_KEY = 7_166_204_561_437_952_112n

/** A purge marker keeps no owner: it is no one's session, and the user's id leaves the row. */
const PURGED_OWNER = 'user_id = NULL, user_handle = NULL, last_seen_at = NULL, user_info = NULL'

/** The owner columns a table made by an earlier release lacks; `migrate()` adds them. */
export const OWNER_COLUMNS = ['user_id', 'user_handle', 'last_seen_at', 'user_info']

/**
 * Every statement the store sends for one table, built once at construction from validated names.
 */
export interface PostgresStatements extends UserStatements {
  /** The DDL `migrate()` runs, statement by statement; `schema.sql` holds the same for the default table. */
  ddl: string[]
  /**
   * The statement of `ddl` that adds the owner columns. `migrate()` sends it only when
   * {@link PostgresStatements.ownerColumnsPresent} says a column is missing: ALTER TABLE takes an
   * ACCESS EXCLUSIVE lock even when every column exists, and queued behind a long reader it would
   * stall every session query for as long.
   */
  addOwnerColumns: string
  /** `($1 = the owner column names)` → `{ present }`: how many of them the table has. */
  ownerColumnsPresent: string
  migrateLock: string
  load: string
  create: string
  /** `apply` for a change set without `owner`: the statement the hot path runs. */
  apply: string
  /** `apply` for a change set that files, refreshes or unfiles the owner, in the same UPDATE. */
  applyOwner: string
  touch: string
  /** `($1 key, $2 data key)` → `{ value }` (JSON text) when the live row held the key and it was removed; no row otherwise. */
  take: string
  renew: string
  deleteOne: string
  deleteExpired: string
}

/**
 * Checks the names and builds the store's SQL. Throws a {@link ConfigError} naming the fix when a
 * name is not a plain identifier.
 */
export function postgresStatements(names: { table: string; schema?: string | undefined }): PostgresStatements {
  const { table, schema } = names
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new ConfigError(
      `PostgresStore table ${JSON.stringify(table)} is not a plain identifier; use letters, digits and underscores, starting with a letter or underscore, at most 48 characters`,
    )
  }
  if (schema !== undefined && (typeof schema !== 'string' || !SCHEMA_NAME.test(schema))) {
    throw new ConfigError(
      `PostgresStore schema ${JSON.stringify(schema)} is not a plain identifier; use letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
    )
  }
  const t = schema === undefined ? `"${table}"` : `"${schema}"."${table}"`
  const revocations = schema === undefined ? `"${table}_revocations"` : `"${schema}"."${table}_revocations"`
  const ms = `* interval '1 millisecond'`
  // A session row (as opposed to a marker, or a corrupt row), and a live one (unexpired too).
  const session = `forward_to IS NULL AND jsonb_typeof(data) = 'object'`
  const live = `expires_at > now() AND ${session}`
  // clear, then remove, then set: `||` is a shallow merge, so a set value replaces the old one whole.
  const changed = (data: string, clear: string, remove: string, set: string) =>
    `(CASE WHEN ${clear}::boolean THEN '{}'::jsonb ELSE ${data} END - ${remove}::text[]) || ${set}::jsonb`
  // The owner columns, given as four parameters from `first` on (all NULL: unfiled).
  const ownerParams = (first: number) => [`$${first}::text`, `$${first + 1}::text`, `$${first + 2}::bigint`, `$${first + 3}::jsonb`]
  const addOwnerColumns = `ALTER TABLE ${t}
  ADD COLUMN IF NOT EXISTS user_id text,
  ADD COLUMN IF NOT EXISTS user_handle text,
  ADD COLUMN IF NOT EXISTS last_seen_at bigint,
  ADD COLUMN IF NOT EXISTS user_info jsonb`
  const [userId, userHandle, lastSeenAt, userInfo] = ownerParams(6)
  const renewedOwner = ownerParams(8)
    .map((param, i) => `CASE WHEN $7::boolean THEN ${param} ELSE old.${OWNER_COLUMNS[i]} END`)
    .join(', ')

  return {
    // The sessions table keeps the shape of the release that first created it, and the owner columns
    // come by ALTER, so that one script both creates a table and upgrades an older one.
    ddl: [
      `CREATE TABLE IF NOT EXISTS ${t} (
  key text PRIMARY KEY,
  data jsonb NOT NULL,
  created_at bigint NOT NULL,
  absolute_expires_at timestamptz,
  expires_at timestamptz NOT NULL,
  forward_to text
)`,
      addOwnerColumns,
      `CREATE INDEX IF NOT EXISTS "${table}_expires_at_idx" ON ${t} (expires_at)`,
      `CREATE INDEX IF NOT EXISTS "${table}_user_id_idx" ON ${t} (user_id) WHERE user_id IS NOT NULL`,
      `CREATE TABLE IF NOT EXISTS ${revocations} (
  user_id text PRIMARY KEY,
  before bigint NOT NULL,
  except_handle text,
  expires_at timestamptz
)`,
    ],
    addOwnerColumns,
    ownerColumnsPresent: `SELECT count(*)::int AS present FROM pg_attribute
WHERE attrelid = to_regclass('${t}') AND attname = ANY ($1::text[]) AND NOT attisdropped`,
    migrateLock: `SELECT pg_advisory_xact_lock(${MIGRATE_LOCK_KEY})`,
    // Text casts keep the result independent of any type parsers the application set on `pg`.
    load: `SELECT data::text AS data, created_at::text AS created_at,
  round(extract(epoch FROM absolute_expires_at) * 1000)::bigint::text AS absolute_expires_at,
  user_id, user_handle, last_seen_at::text AS last_seen_at, user_info::text AS user_info
FROM ${t} WHERE key = $1 AND ${live}`,
    create: `INSERT INTO ${t} (key, data, created_at, absolute_expires_at, expires_at, user_id, user_handle, last_seen_at, user_info)
SELECT $1, $2::jsonb, $3::bigint, cap, least(now() + $5::float8 ${ms}, cap), ${ownerParams(6).join(', ')}
FROM (SELECT 'epoch'::timestamptz + $4::float8 ${ms} AS cap) AS c`,
    // apply and touch match the key's unexpired row whatever it holds, so that a miss still returns
    // a row saying why: a session row is written, a marker row written back unchanged (the rare
    // path). An UPDATE that waited on the row lock re-reads the row's newest version, so a write
    // queued behind a renew or a delete sees the marker that took the session's place. No row: EXPIRED.
    apply: `UPDATE ${t} SET
  data = CASE WHEN ${session} THEN ${changed('data', '$2', '$3', '$4')} ELSE data END,
  expires_at = CASE WHEN ${session} THEN least(now() + $5::float8 ${ms}, absolute_expires_at) ELSE expires_at END
WHERE key = $1 AND expires_at > now()
RETURNING (${session})::int AS written, forward_to AS marker`,
    applyOwner: `UPDATE ${t} SET
  data = CASE WHEN ${session} THEN ${changed('data', '$2', '$3', '$4')} ELSE data END,
  expires_at = CASE WHEN ${session} THEN least(now() + $5::float8 ${ms}, absolute_expires_at) ELSE expires_at END,
  user_id = CASE WHEN ${session} THEN ${userId} ELSE user_id END,
  user_handle = CASE WHEN ${session} THEN ${userHandle} ELSE user_handle END,
  last_seen_at = CASE WHEN ${session} THEN ${lastSeenAt} ELSE last_seen_at END,
  user_info = CASE WHEN ${session} THEN ${userInfo} ELSE user_info END
WHERE key = $1 AND expires_at > now()
RETURNING (${session})::int AS written, forward_to AS marker`,
    touch: `UPDATE ${t} SET
  expires_at = CASE WHEN ${session} THEN least(now() + $2::float8 ${ms}, absolute_expires_at) ELSE expires_at END
WHERE key = $1 AND expires_at > now()
RETURNING (${session})::int AS written, forward_to AS marker`,
    // Lock the live row holding the key (FOR UPDATE re-reads a row changed since the statement
    // began, so of two takes queued on one row the second finds the key gone), return its value, and
    // remove the key in the same statement.
    take: `WITH found AS (
  SELECT key, data -> $2::text AS value FROM ${t} WHERE key = $1 AND ${live} AND data ? $2::text FOR UPDATE
), taken AS (
  UPDATE ${t} AS s SET data = s.data - $2::text FROM found WHERE s.key = found.key RETURNING 1
)
SELECT value::text AS value FROM found WHERE EXISTS (SELECT 1 FROM taken)`,
    // One statement: lock the old row, whatever it holds, reading its latest version; if it is a
    // live session, turn it into a forwarding marker in place and insert the successor; otherwise
    // return its marker, if any, to say why. Keeping the marker in the same row means a delete or
    // apply queued on that row's lock sees the marker, not a vanished row. The marker keeps the owner
    // columns for its window, so a revokeByUser queued on its lock still finds it and follows it.
    // The successor takes the owner of the old row, unless $7 says the change set carries one.
    renew: `WITH found AS (
  SELECT data, created_at, absolute_expires_at, user_id, user_handle, last_seen_at, user_info,
    forward_to, expires_at > now() AS unexpired, ${live} AS live
  FROM ${t} WHERE key = $1 FOR UPDATE
), old AS (
  SELECT data, created_at, absolute_expires_at, user_id, user_handle, last_seen_at, user_info FROM found WHERE live
), forwarding AS (
  UPDATE ${t} AS m SET data = '{}'::jsonb, forward_to = $2,
    expires_at = now() + interval '${MARKER_WINDOW_SECONDS} seconds'
  FROM old WHERE m.key = $1
  RETURNING m.key
), moved AS (
  INSERT INTO ${t} (key, data, created_at, absolute_expires_at, expires_at, user_id, user_handle, last_seen_at, user_info)
  SELECT $2, ${changed('old.data', '$3', '$4', '$5')}, old.created_at, old.absolute_expires_at,
    least(now() + $6::float8 ${ms}, old.absolute_expires_at),
    ${renewedOwner}
  FROM old
  RETURNING key
)
SELECT (SELECT count(*) FROM moved)::int AS written, (SELECT count(*) FROM forwarding)::int AS marked,
  (SELECT forward_to FROM found WHERE unexpired) AS marker`,
    // One hop of delete, run inside delete's transaction: lock the key's row and read its newest
    // version, then turn whatever it holds (a session, a marker, nothing) into a purge marker. Returns
    // the successor to end next, only from a forwarding marker still within its window.
    // statement_timestamp(), not now(): now() is the transaction's start, and a hop may have waited.
    deleteOne: `WITH hop AS (
  SELECT forward_to, expires_at > statement_timestamp() AS unexpired FROM ${t} WHERE key = $1 FOR UPDATE
), purged AS (
  INSERT INTO ${t} (key, data, created_at, absolute_expires_at, expires_at, forward_to)
  VALUES ($1, '{}'::jsonb, 0, NULL, statement_timestamp() + interval '${MARKER_WINDOW_SECONDS} seconds', '')
  ON CONFLICT (key) DO UPDATE SET data = excluded.data, absolute_expires_at = NULL,
    expires_at = excluded.expires_at, forward_to = excluded.forward_to, ${PURGED_OWNER}
  RETURNING 1
)
SELECT (SELECT forward_to FROM hop WHERE unexpired AND forward_to <> '') AS forward_to,
  (SELECT count(*) FROM purged)::int AS purged`,
    deleteExpired: `DELETE FROM ${t} WHERE key IN (
  SELECT key FROM ${t} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
)`,
    ...userStatements({ t, revocations, session, purgedOwner: PURGED_OWNER }),
  }
}
