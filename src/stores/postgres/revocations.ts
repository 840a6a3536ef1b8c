import type { RevocationList, RevocationMark } from '../../core/revocation.js'
import { checkMark, checkUserId } from '../shared/user-input.js'
import type { RunQuery } from './call.js'
import type { PostgresStatements } from './sql.js'

/**
 * The PostgreSQL store's revocation list: one row per user in `<table>_revocations` (created by
 * `migrate()`), alive until the database's `now() + ttlMs`, or for good. Each call is one statement,
 * bounded by the store's `timeoutMs`; `deleteExpired` removes the spent marks.
 */
export function postgresRevocationList(sql: PostgresStatements, run: <T>(op: string, fn: (query: RunQuery) => Promise<T>) => Promise<T>): RevocationList {
  return {
    async get(userId) {
      checkUserId('postgres revocation get', userId)
      const { rows } = await run('revocation get', (query) => query({ text: sql.revocationGet, values: [userId] }))
      const row = rows[0]
      const before = Number(row?.['before'])
      if (row === undefined || !Number.isFinite(before)) return null
      const mark: RevocationMark = { before }
      if (typeof row['except_handle'] === 'string') mark.except = row['except_handle']
      return mark
    },
    async set(userId, mark, ttlMs) {
      checkUserId('postgres revocation set', userId)
      checkMark('postgres revocation set', mark, ttlMs)
      await run('revocation set', (query) => query({ text: sql.revocationSet, values: [userId, mark.before, mark.except ?? null, ttlMs] }))
    },
  }
}
