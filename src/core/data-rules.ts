import { ConfigError } from './errors.js'
import type { SessionData } from './json.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/**
 * What the `schema` option takes: one Standard Schema (Zod, Valibot, ArkType…) for the whole
 * record, or one per key. A per-key schema checks its key when the key holds a value; keys
 * without one are not checked.
 *
 * @example
 * ```ts
 * import * as v from 'valibot'
 * const perKey: SessionSchema<{ counter?: number }> = { counter: v.number() }
 * const whole: SessionSchema<{ counter?: number }> = v.object({ counter: v.optional(v.number()) })
 * ```
 */
export type SessionSchema<Data> = StandardSchemaV1<unknown, Data> | { [K in keyof Data]?: StandardSchemaV1<unknown, Data[K]> }

/**
 * The `migrate` option: turns the data of a session written under an older `version` (the
 * record's version, `0` for one written before `version` was set) into the current shape.
 *
 * @example
 * ```ts
 * const migrate: Migrate<{ user?: { id: string } }> = (old, from) => (from < 2 && typeof old.userId === 'string' ? { user: { id: old.userId } } : {})
 * ```
 */
export type Migrate<Data> = (data: SessionData, version: number) => NoInfer<Partial<Data>> | Promise<NoInfer<Partial<Data>>>

/**
 * The data key under which a versioned session keeps its `version`: hidden from reads, refused by
 * writes. Inside the data, so every store keeps it with no change to the store contract.
 *
 * @example
 * ```ts
 * await store.load(id) // { data: { user: { id: 'ada' }, '~version': 2 }, … } under version: 2
 * ```
 */
export const VERSION_KEY = '~version'

/**
 * The checked `schema`, `onInvalid`, `version` and `migrate` options, as the read path uses them.
 *
 * @example
 * ```ts
 * const rules = resolveDataRules({ schema: { counter: v.number() } }) // { schema: { keys: Map { 'counter' => … } }, onInvalid: 'drop', version: undefined, migrate: undefined }
 * ```
 */
export interface DataRules {
  /** One schema for the whole record, or one per key; `undefined` when no `schema` was given. */
  readonly schema: { readonly whole: StandardSchemaV1 } | { readonly keys: ReadonlyMap<string, StandardSchemaV1> } | undefined
  readonly onInvalid: 'drop' | 'error'
  readonly version: number | undefined
  readonly migrate: ((data: SessionData, version: number) => unknown) | undefined
}

/**
 * The options {@link resolveDataRules} reads; typed loosely, as they are checked here.
 *
 * @example
 * ```ts
 * const given: DataOptions = { version: 2, migrate: (old) => old }
 * ```
 */
export interface DataOptions {
  schema?: unknown
  onInvalid?: unknown
  version?: unknown
  migrate?: unknown
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || !('~standard' in value)) return false
  const props = (value as StandardSchemaV1)['~standard'] as unknown
  return typeof props === 'object' && props !== null && (props as { version?: unknown }).version === 1 && typeof (props as { validate?: unknown }).validate === 'function'
}

function resolveSchema(schema: unknown): DataRules['schema'] {
  if (schema === undefined) return undefined
  if (isStandardSchema(schema)) return { whole: schema }
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || '~standard' in schema) {
    throw new ConfigError(
      'schema must be a Standard Schema for the whole record (a Zod, Valibot or ArkType object schema), or an object with one Standard Schema per key',
    )
  }
  const keys = new Map<string, StandardSchemaV1>()
  for (const [key, value] of Object.entries(schema)) {
    if (!isStandardSchema(value)) throw new ConfigError(`schema.${key} is not a Standard Schema (Zod 3.24+, Valibot 1, ArkType 2 and others are)`)
    keys.set(key, value)
  }
  return { keys }
}

/**
 * Checks the data options, throwing a {@link ConfigError} that names the fix; `undefined` when
 * none is given, so that a session without them pays nothing on its read path.
 *
 * @example
 * ```ts
 * resolveDataRules({ schema: { counter: v.number() }, onInvalid: 'error' }) // { schema: { keys }, onInvalid: 'error', … }
 * resolveDataRules({ version: 2 }) // throws: version needs migrate
 * ```
 */
export function resolveDataRules(options: DataOptions): DataRules | undefined {
  const { onInvalid = 'drop', version, migrate } = options
  const schema = resolveSchema(options.schema)
  if (onInvalid !== 'drop' && onInvalid !== 'error') {
    throw new ConfigError(`onInvalid must be 'drop' or 'error' (got ${JSON.stringify(onInvalid)})`)
  }
  if (version !== undefined && !(typeof version === 'number' && Number.isSafeInteger(version) && version >= 1)) {
    throw new ConfigError(`version must be a whole number of at least 1, raised whenever the data's shape changes (got ${String(version)})`)
  }
  if (migrate !== undefined && typeof migrate !== 'function') throw new ConfigError('migrate must be a function (data, version) => data')
  if (version !== undefined && migrate === undefined) {
    throw new ConfigError('version needs migrate(data, version): the function that brings the data of an older version to this one')
  }
  if (migrate !== undefined && version === undefined) {
    throw new ConfigError('migrate needs version: the version of the data this app writes (start at 1; a session written before it reads as version 0)')
  }
  if (options.onInvalid !== undefined && schema === undefined && migrate === undefined) {
    throw new ConfigError('onInvalid only applies with a schema (or a migrate that can fail): give schema too, or drop onInvalid')
  }
  if (schema === undefined && version === undefined) return undefined
  return { schema, onInvalid, version: version as number | undefined, migrate: migrate as DataRules['migrate'] }
}
