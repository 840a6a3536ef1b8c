import { withConnection } from './call.js'
import type { PostgresStatements } from './sql.js'
import type { PgPool } from './types.js'

/**
 * Creates the sessions table and its `expires_at` index if they are missing, in one transaction
 * under a transaction-scoped advisory lock, so that several instances starting at once queue
 * instead of colliding on PostgreSQL's catalog. The schema, when one is named, must already exist.
 */
export async function runMigration(pool: PgPool, sql: PostgresStatements, timeoutMs: number): Promise<void> {
  await withConnection(pool, timeoutMs, 'migrate', async (query) => {
    await query({ text: 'BEGIN' })
    try {
      await query({ text: sql.migrateLock })
      for (const statement of sql.ddl) await query({ text: statement })
      await query({ text: 'COMMIT' })
    } catch (error) {
      // On a timeout or a dead socket the connection is discarded, which rolls back by itself.
      await query({ text: 'ROLLBACK' }).catch(() => {})
      throw error
    }
  })
}
