import { MARKER_WINDOW_MS } from '../../core/store.js'

/**
 * The statements that list and revoke a user's sessions and keep the revocation list.
 */
export interface UserStatements {
  /** `($1 userId)` → the user's live sessions, newest first. */
  listByUser: string
  /** `($1 userId, $2 handles text[] or NULL, $3 except or NULL)` → `{ ended, forwarded }`. */
  revokeByUser: string
  /** `($1 userId)` → the user's unexpired mark: `{ before, except_handle }`. */
  revocationGet: string
  /** `($1 userId, $2 before, $3 except or NULL, $4 ttl ms or NULL)`: replaces the user's mark. */
  revocationSet: string
  /** `($1 limit)`: deletes up to that many expired marks. */
  deleteExpiredRevocations: string
}

/**
 * Builds the {@link UserStatements} of one table from its quoted names and the store's shared
 * fragments: `session` tells a session row from a marker or a corrupt row, `purgedOwner` clears the
 * owner columns as a purge marker must.
 */
export function userStatements(names: { t: string; revocations: string; session: string; purgedOwner: string }): UserStatements {
  const { t, revocations, session, purgedOwner } = names
  return {
    // One index scan on user_id (the partial index: `user_id = $1` implies its `IS NOT NULL`). ORDER BY
    // names the column through the alias `s`: bare, `created_at` would be the text output column.
    listByUser: `SELECT user_handle, created_at::text AS created_at, last_seen_at::text AS last_seen_at,
  round(extract(epoch FROM expires_at) * 1000)::bigint::text AS expires_at, user_info::text AS user_info
FROM ${t} AS s WHERE user_id = $1 AND expires_at > now() AND ${session}
ORDER BY s.created_at DESC, s.key`,
    // Lock the user's selected rows, in key order (two revokes of one user queue rather than
    // deadlock), and turn each into a purge marker as delete does. The rows include the user's
    // forwarding markers still within their window: a renew that took a session's row lock first
    // leaves one in its place, which the lock wait re-reads, and `forwarded` then tells the caller
    // to run the statement again, whose fresh snapshot holds the successor. `ended` counts sessions.
    // statement_timestamp(), not now(): the statement may run again later in the same transaction.
    revokeByUser: `WITH chosen AS (
  SELECT key, (${session}) AS session, forward_to IS NOT NULL AS forwarded
  FROM ${t}
  WHERE user_id = $1 AND expires_at > statement_timestamp() AND (forward_to IS NULL OR forward_to <> '')
    AND ($2::text[] IS NULL OR user_handle = ANY ($2::text[]))
    AND user_handle IS DISTINCT FROM $3::text
  ORDER BY key
  FOR UPDATE
), purged AS (
  UPDATE ${t} AS p SET data = '{}'::jsonb, absolute_expires_at = NULL, forward_to = '',
    expires_at = statement_timestamp() + interval '${MARKER_WINDOW_MS / 1000} seconds', ${purgedOwner}
  FROM chosen WHERE p.key = chosen.key
  RETURNING chosen.session, chosen.forwarded
)
SELECT (count(*) FILTER (WHERE session))::int AS ended, (count(*) FILTER (WHERE forwarded))::int AS forwarded FROM purged`,
    revocationGet: `SELECT before::text AS before, except_handle FROM ${revocations}
WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > now())`,
    // A NULL ttl makes a NULL expires_at: a mark kept for good.
    revocationSet: `INSERT INTO ${revocations} (user_id, before, except_handle, expires_at)
VALUES ($1, $2::bigint, $3, now() + $4::float8 * interval '1 millisecond')
ON CONFLICT (user_id) DO UPDATE SET before = excluded.before, except_handle = excluded.except_handle, expires_at = excluded.expires_at`,
    deleteExpiredRevocations: `DELETE FROM ${revocations} WHERE user_id IN (
  SELECT user_id FROM ${revocations} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
)`,
  }
}
