/**
 * The parts of a `pg` query this store sends: text, parameters, and (when asked) a name, which
 * makes `pg` prepare the statement once per connection.
 *
 * @example
 * ```ts
 * const query: PgQuery = { text: 'SELECT 1 WHERE $1::int = 1', values: [1] }
 * ```
 */
export interface PgQuery {
  text: string
  values?: unknown[]
  name?: string
}

/**
 * What a `pg` query resolves to, as far as this store reads it.
 *
 * @example
 * ```ts
 * const result: PgResult = { rows: [{ n: '1' }], rowCount: 1 }
 * ```
 */
export interface PgResult {
  rows: Record<string, unknown>[]
  rowCount: number | null
}

/**
 * A connection checked out of a pool: `pg.PoolClient` fits as is. Declared structurally so that
 * importing `cloakroom/postgres` needs no `pg` at run time and no `@types/pg` at compile time.
 *
 * @example
 * ```ts
 * const client: PgPoolClient = await pool.connect()
 * try { await client.query({ text: 'SELECT 1' }) } finally { client.release() }
 * ```
 */
export interface PgPoolClient {
  query(query: PgQuery): Promise<PgResult>
  /** Returns the connection to the pool; with an error (or `true`) the pool closes it instead. */
  release(err?: Error | boolean): void
  on?(event: 'error', listener: (err: Error) => void): unknown
  removeListener?(event: 'error', listener: (err: Error) => void): unknown
  /** The server process serving this connection (`pg` sets it); used to cancel a timed-out statement. */
  readonly processID?: number | null
}

/**
 * A connection pool: `pg.Pool` fits as is (and so do pools with the same shape).
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * const pool: PgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export interface PgPool {
  connect(): Promise<PgPoolClient>
}
