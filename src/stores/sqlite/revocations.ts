import type { RevocationList, RevocationMark } from '../../core/revocation.js'
import { checkMark, checkUserId } from '../shared/user-input.js'
import { toStoreError } from './errors.js'
import type { Statements } from './statements.js'

/**
 * The SQLite store's revocation list: one row per user in `<table>_revocations` (created by
 * `migrate()`), alive until `clock() + ttlMs` or for good (`expires_at` NULL). `deleteExpired`
 * removes the spent ones.
 */
export function sqliteRevocationList(sql: Statements, clock: () => number, timeoutMs: number): RevocationList {
  return {
    async get(userId) {
      checkUserId('sqlite revocation get', userId)
      let row: { before: unknown; except_handle: unknown } | undefined
      try {
        row = sql.revocationGet.get(userId, clock()) as typeof row
      } catch (error) {
        throw toStoreError('revocation get', error, timeoutMs)
      }
      if (row === undefined || typeof row.before !== 'number') return null
      const mark: RevocationMark = { before: row.before }
      if (typeof row.except_handle === 'string') mark.except = row.except_handle
      return mark
    },
    async set(userId, mark, ttlMs) {
      checkUserId('sqlite revocation set', userId)
      checkMark('sqlite revocation set', mark, ttlMs)
      try {
        sql.revocationSet.run(userId, mark.before, mark.except ?? null, ttlMs === null ? null : clock() + ttlMs)
      } catch (error) {
        throw toStoreError('revocation set', error, timeoutMs)
      }
    },
  }
}
