import { defineOwn, toJsonValue } from './json-value.js'
import type { Json } from './json.js'
import { VERSION_KEY, type DataRules } from './data-rules.js'
import type { StandardSchemaV1 } from './standard-schema.js'

type Issues = readonly StandardSchemaV1.Issue[]

/**
 * A stored record's data as one request reads it, once the data rules have run (once per request).
 *
 * @example
 * ```ts
 * const { data, dropped } = await readData({ counter: 'seven', user: 'ada' }, rules, warn)
 * // data: { user: 'ada' }, dropped: ['counter'] (with schema { counter: v.number() } and onInvalid 'drop')
 * ```
 */
export interface ReadData {
  /** What the handler sees: without the version key, migrated, and holding only accepted values (the schema's output). */
  readonly data: Record<string, Json>
  /** `onInvalid: 'error'`: the issues of each value the schema refused (reading it throws). */
  readonly invalid: ReadonlyMap<string, Issues>
  /** `onInvalid: 'error'`: the issues of the record as a whole (a record schema refused it, or `migrate` failed). */
  readonly invalidRecord: Issues | undefined
  /** `onInvalid: 'drop'`: the keys to remove at the next write. */
  readonly dropped: readonly string[]
  /** `onInvalid: 'drop'`: the stored data is cleared at the next write (a record schema refused it, or `migrate` failed). */
  readonly dropAll: boolean
  /** The writes that store the migrated data, with the current version, at this request's commit. */
  readonly migration: { readonly set: Record<string, Json>; readonly remove: readonly string[] } | undefined
}

/** Runs a Standard Schema; a validator that throws counts as one that reported an issue. */
async function check(schema: StandardSchemaV1, value: unknown): Promise<StandardSchemaV1.Result<unknown>> {
  try {
    // Awaited whether or not it is a promise: a validator from another realm returns a foreign one.
    return await schema['~standard'].validate(value)
  } catch (error) {
    return { issues: [{ message: `the validator threw: ${error instanceof Error ? error.message : String(error)}` }] }
  }
}

/** `migrate`'s result as session data, or why it cannot be (it threw, or returned what JSON cannot carry). */
async function migrated(rules: DataRules, old: Record<string, Json>, from: number): Promise<Record<string, Json> | string> {
  let result: unknown
  try {
    result = await (rules.migrate as NonNullable<DataRules['migrate']>)(JSON.parse(JSON.stringify(old)) as Record<string, Json>, from)
  } catch (error) {
    return `migrate(data, ${from}) threw: ${error instanceof Error ? error.message : String(error)}`
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return `migrate(data, ${from}) returned ${Array.isArray(result) ? 'an array' : String(result)}, not an object of session data`
  const data: Record<string, Json> = {}
  try {
    for (const key of Object.keys(result)) {
      const value = (result as Record<string, unknown>)[key]
      if (value === undefined) continue // an absent key, as in a typed Partial<Data>
      if (key === VERSION_KEY) return `migrate(data, ${from}) returned the reserved key ${VERSION_KEY}`
      defineOwn(data, key, toJsonValue(key, value))
    }
  } catch (error) {
    return `migrate(data, ${from}) returned a value JSON cannot carry: ${(error as Error).message}`
  }
  return data
}

function sameJson(a: Json | undefined, b: Json): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b)
}

/** The writes that turn `stored` into `current` at `version`: changed keys set, vanished keys removed. */
function migrationOf(stored: Record<string, Json>, current: Record<string, Json>, version: number): NonNullable<ReadData['migration']> {
  const set: Record<string, Json> = {}
  const remove: string[] = []
  for (const key of Object.keys(stored)) if (!Object.hasOwn(current, key)) remove.push(key)
  for (const key of Object.keys(current)) {
    const value = current[key] as Json
    if (!sameJson(Object.hasOwn(stored, key) ? stored[key] : undefined, value)) defineOwn(set, key, value)
  }
  set[VERSION_KEY] = version
  return { set, remove }
}

/**
 * Reads a stored record's data through the data rules: the version key taken out, an older
 * version migrated, then the schema checked. Never throws: a value the schema refuses (or data
 * `migrate` cannot bring forward) is dropped or marked invalid as `onInvalid` says, and `warn`
 * hears why (naming keys, never values).
 *
 * @example
 * ```ts
 * const read = await readData(record.data, rules, (message) => logger.warn(message))
 * if (read.dropped.length > 0) changes.remove.push(...read.dropped)
 * ```
 */
export async function readData(stored: Readonly<Record<string, Json>>, rules: DataRules, warn: (message: string) => void): Promise<ReadData> {
  const drop = rules.onInvalid === 'drop'
  const outcome = { invalid: new Map<string, Issues>(), invalidRecord: undefined as Issues | undefined, dropped: [] as string[], dropAll: false, migration: undefined as ReadData['migration'] }
  const rest: Record<string, Json> = {}
  for (const key of Object.keys(stored)) if (key !== VERSION_KEY || rules.version === undefined) defineOwn(rest, key, stored[key] as Json)

  let data = rest
  let from: number | undefined
  if (rules.version !== undefined) {
    const marker = Object.hasOwn(stored, VERSION_KEY) ? stored[VERSION_KEY] : 0
    // A record of a newer version (an app rolled back) is read as it is, and keeps its version.
    from = typeof marker === 'number' && Number.isSafeInteger(marker) && marker >= 0 ? marker : 0
    if (from < rules.version) {
      const result = await migrated(rules, rest, from)
      if (typeof result === 'string') {
        warn(`cloakroom: ${result}; the session's data ${drop ? 'reads as empty and is cleared at the next write' : 'is refused: reading it throws SessionSchemaError'}`)
        return failedRecord(outcome, drop, [{ message: result }])
      }
      data = result
    } else {
      from = undefined
    }
  }

  const { schema } = rules
  if (schema !== undefined && 'whole' in schema) {
    const result = await check(schema.whole, data)
    const output = result.issues === undefined ? result.value : undefined
    if (output === null || typeof output !== 'object' || Array.isArray(output)) {
      const issues = result.issues ?? [{ message: 'the schema did not return an object' }]
      warn(`cloakroom: the session's data does not match its schema; it ${drop ? 'reads as empty and is cleared at the next write' : 'is refused: reading it throws SessionSchemaError'}`)
      return failedRecord(outcome, drop, issues)
    }
    if (from !== undefined) outcome.migration = migrationOf(rest, data, rules.version as number)
    return { ...outcome, data: output as Record<string, Json> }
  }

  const visible: Record<string, Json> = {}
  for (const key of Object.keys(data)) {
    const keySchema = schema?.keys.get(key)
    if (keySchema === undefined) {
      defineOwn(visible, key, data[key] as Json)
      continue
    }
    const result = await check(keySchema, data[key])
    if (result.issues === undefined) {
      if (result.value !== undefined) defineOwn(visible, key, result.value as Json)
    } else if (drop) {
      outcome.dropped.push(key)
    } else {
      outcome.invalid.set(key, result.issues)
    }
  }
  if (outcome.dropped.length + outcome.invalid.size > 0) {
    const keys = [...outcome.dropped, ...outcome.invalid.keys()].map((key) => JSON.stringify(key)).join(', ')
    warn(`cloakroom: the session's ${keys} did not match the schema; ${drop ? 'read as absent and removed at the next write' : 'reading it throws SessionSchemaError'}`)
  }
  if (from !== undefined) {
    // A dropped value is not written forward; a refused one is ('error' leaves the data to the app).
    const kept: Record<string, Json> = {}
    for (const key of Object.keys(data)) if (!outcome.dropped.includes(key)) defineOwn(kept, key, data[key] as Json)
    outcome.migration = migrationOf(rest, kept, rules.version as number)
  }
  return { ...outcome, data: visible }
}

function failedRecord(outcome: Omit<ReadData, 'data'>, drop: boolean, issues: Issues): ReadData {
  return drop ? { ...outcome, data: {}, dropAll: true } : { ...outcome, data: {}, invalidRecord: issues }
}
