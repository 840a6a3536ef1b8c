/**
 * The part of a better-sqlite3 `Statement` the store uses. Declared here, structurally, so that
 * importing `cloakroom/sqlite` never loads (or needs the types of) the driver.
 *
 * @example
 * ```ts
 * const statement: SqliteStatement = db.prepare('SELECT 1')
 * ```
 */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number }
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
}

/**
 * The part of a better-sqlite3 `Database` the store uses: pass the driver's own `Database`
 * (on a file or `:memory:`); any object of this shape works.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * const db: SqliteDatabase = new Database('sessions.db')
 * ```
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement
  exec(source: string): unknown
  pragma(source: string, options?: { simple?: boolean }): unknown
  transaction<A extends unknown[], T>(fn: (...args: A) => T): { immediate(...args: A): T }
  readonly memory: boolean
}
