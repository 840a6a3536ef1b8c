import type { ChangeSet } from '../../core/store.js'
import { encodeJson } from './codec.js'
import type { SqliteDatabase } from './database.js'

/**
 * The largest number of removed or set keys one `apply` statement carries; larger change sets are
 * merged in JavaScript (applyChanges) inside an IMMEDIATE transaction. It keeps each JSON function well under
 * SQLite's argument limit (127 on older builds) and the number of distinct statements small.
 */
export const MAX_SQL_KEYS = 32

/**
 * A change set laid out as SQL: the shape names the statement, the params fill it.
 */
export interface ChangeSql {
  /** Identifies the SQL text (clear flag and key counts), for the statement cache. */
  shape: string
  /** An SQL expression over the `data` column giving the new data. */
  expression: string
  /** The expression's parameters, in order. */
  params: string[]
}

/**
 * The JSON path of one top-level key. A quoted label escaped as a JSON string keeps `.`, `"`, `$`,
 * `[0]`, the empty string and emoji literal (SQLite decodes the escapes; see {@link supportsQuotedLabels}).
 */
export function jsonPath(key: string): string {
  return '$.' + JSON.stringify(key)
}

/**
 * Expresses a change set as one SQL expression, or returns `null` when it is too large for one
 * statement. Paths and values are bound parameters; only the key counts shape the SQL text.
 * `json_set` with `json(?)`, never `json_patch`: patch would deep-merge objects and delete keys set
 * to `null`, and a bare `?` would store JSON text as a string.
 */
export function changeSql(changes: ChangeSet): ChangeSql | null {
  const setKeys = Object.keys(changes.set)
  const removeKeys = changes.clear ? [] : changes.remove
  if (setKeys.length > MAX_SQL_KEYS || removeKeys.length > MAX_SQL_KEYS) return null
  let expression = changes.clear ? `'{}'` : 'data'
  const params: string[] = []
  if (removeKeys.length > 0) {
    expression = `json_remove(${expression}${', ?'.repeat(removeKeys.length)})`
    for (const key of removeKeys) params.push(jsonPath(key))
  }
  if (setKeys.length > 0) {
    expression = `json_set(${expression}${', ?, json(?)'.repeat(setKeys.length)})`
    for (const key of setKeys) params.push(jsonPath(key), encodeJson(changes.set[key]))
  }
  return { shape: `${changes.clear ? 'c' : 'k'}${removeKeys.length}.${setKeys.length}`, expression, params }
}

/**
 * Whether this SQLite decodes escapes inside quoted JSON path labels (recent releases do), so that
 * keys holding `"` or `\` address the right member. Checked once per store; without it every change
 * set is merged in JavaScript instead.
 */
export function supportsQuotedLabels(db: SqliteDatabase): boolean {
  const key = 'q"k\\.$'
  const expected = JSON.stringify({ [key]: 1 })
  try {
    const row = db
      .prepare('SELECT json_set(?, ?, 1) AS added, json_remove(?, ?) AS removed')
      .get('{}', jsonPath(key), expected, jsonPath(key)) as { added: unknown; removed: unknown } | undefined
    return row?.added === expected && row.removed === '{}'
  } catch {
    return false
  }
}

/**
 * Whether this SQLite has the JSON functions at all (built in by default since 3.38).
 */
export function hasJsonFunctions(db: SqliteDatabase): boolean {
  try {
    return (db.prepare(`SELECT json_valid('{}') AS ok`).get() as { ok: unknown } | undefined)?.ok === 1
  } catch {
    return false
  }
}
