import { withConnection } from './call.js'
import { OWNER_COLUMNS } from './sql.js'
import type { PostgresStatements } from './sql.js'
import type { PgPool } from './types.js'

/**
 * Creates the sessions table, its indexes and the revocation table if they are missing, and adds
 * the owner columns to a sessions table made by an earlier release (nullable, no default: a
 * catalog-only change that keeps every row). One transaction under a transaction-scoped advisory
 * lock, so that several instances starting at once queue instead of colliding on PostgreSQL's
 * catalog. The schema, when one is named, must already exist.
 */
export async function runMigration(pool: PgPool, sql: PostgresStatements, timeoutMs: number): Promise<void> {
  await withConnection(pool, timeoutMs, 'migrate', async (query) => {
    await query({ text: 'BEGIN' })
    try {
      await query({ text: sql.migrateLock })
      for (const statement of sql.ddl) {
        if (statement === sql.addOwnerColumns) {
          // The ALTER's lock is taken before IF NOT EXISTS is checked: skip it when there is nothing to add.
          const { rows } = await query({ text: sql.ownerColumnsPresent, values: [OWNER_COLUMNS] })
          if (Number(rows[0]?.['present']) === OWNER_COLUMNS.length) continue
        }
        await query({ text: statement })
      }
      await query({ text: 'COMMIT' })
    } catch (error) {
      // On a timeout or a dead socket the connection is discarded, which rolls back by itself.
      await query({ text: 'ROLLBACK' }).catch(() => {})
      throw error
    }
  })
}
