/**
 * Every error cloakroom throws is a {@link CloakroomError} with a stable `code`, so callers can
 * branch on `error.code` instead of on message text.
 *
 * @example
 * ```ts
 * try { session.insert('fn', () => 1 as never) } catch (e) {
 *   if (e instanceof CloakroomError && e.code === 'INVALID_VALUE') console.warn(e.message)
 * }
 * ```
 */
export class CloakroomError extends Error {
  /** A stable, machine-readable identifier of the failure. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * Thrown at construction when options cannot work together; the message names the fix.
 *
 * @example
 * ```ts
 * createSessionManager({ store, keys: ['short'] }) // throws ConfigError: keys[0] is 5 bytes; …
 * ```
 */
export class ConfigError extends CloakroomError {
  constructor(message: string) {
    super('CONFIG', `cloakroom: ${message}`)
  }
}

/**
 * Thrown by `insert`, `update` and `updateOr` when a value cannot travel as JSON unchanged
 * (functions, symbols, BigInt, cycles, `undefined`, non-finite numbers, class instances, strings
 * holding NUL or lone surrogates), or nests more than 64 arrays or objects. The session is left as it was.
 *
 * @example
 * ```ts
 * session.insert('n', 10n) // throws SessionValueError: value at "n" is a bigint …
 * ```
 */
export class SessionValueError extends CloakroomError {
  /** The session key whose value was refused. */
  readonly key: string

  constructor(key: string, message: string) {
    super('INVALID_VALUE', message)
    this.key = key
  }
}

/**
 * Thrown by `get(key, schema)` and `removeAs(key, schema)` when the stored value does not
 * satisfy the schema; and, under the `schema` option with `onInvalid: 'error'`, by a read of a
 * stored value the schema refused (or of any key, when the record as a whole was refused: `key`
 * is then `''` and `record` is true).
 *
 * @example
 * ```ts
 * await session.get('user', UserSchema) // throws SessionSchemaError with `issues`
 * ```
 */
export class SessionSchemaError extends CloakroomError {
  /** The session key whose value failed validation; `''` when the record as a whole did. */
  readonly key: string
  /** The issues the schema reported. */
  readonly issues: readonly { readonly message: string }[]
  /** Whether the record as a whole failed (a record schema refused it, or `migrate` could not bring it forward). */
  readonly record: boolean

  constructor(key: string, issues: readonly { readonly message: string }[], record = false) {
    const what = record ? "the session's data does not match its schema" : `the value at ${JSON.stringify(key)} does not match its schema`
    super('SCHEMA', `cloakroom: ${what}: ${issues.map((i) => i.message).join('; ')}`)
    this.key = record ? '' : key
    this.issues = issues
    this.record = record
  }
}

/** What went wrong in a store: the backend is down, slow, or holds data we cannot read or write. */
export type StoreErrorKind = 'unavailable' | 'timeout' | 'backend' | 'decode' | 'encode'

/**
 * A store could not do what was asked. Stores wrap their driver's errors in it (the driver error
 * is the `cause`). The manager turns it into an empty-bodied 500 unless `onError` says otherwise;
 * its message never reaches the client.
 *
 * @example
 * ```ts
 * throw new StoreError('timeout', 'redis did not answer within 2000 ms', { cause: err })
 * ```
 */
export class StoreError extends CloakroomError {
  /** The class of failure. */
  readonly kind: StoreErrorKind

  constructor(kind: StoreErrorKind, message: string, options?: { cause?: unknown }) {
    super('STORE', `cloakroom: ${message}`, options)
    this.kind = kind
  }
}

/**
 * The session's `Set-Cookie` line would exceed 4096 bytes, which browsers silently drop. Raised
 * before anything is sent; the response becomes a 500 (or what `onError` renders).
 *
 * @example
 * ```ts
 * onError: (error) => error instanceof CookieTooLargeError ? new Response('too much', { status: 413 }) : undefined
 * ```
 */
export class CookieTooLargeError extends CloakroomError {
  /** The length in bytes of the line that was refused. */
  readonly bytes: number

  constructor(bytes: number) {
    super(
      'COOKIE_TOO_LARGE',
      `cloakroom: the session cookie would be ${bytes} bytes, over the 4096 browsers keep; store less in the session or use a server-side store`,
    )
    this.bytes = bytes
  }
}

/**
 * A write (`insert`, `update`, `remove`, `clear`, `purge`, `renew`, …) reached a session whose
 * changes were already committed: the response head has gone, so the write could never be stored.
 * Change the session before the response is sent, and `await` every `update`, `updateOr` and
 * `remove` (an un-awaited one still lands: the commit waits for it).
 *
 * @example
 * ```ts
 * try { session.insert('late', true) } catch (error) { if (error instanceof SessionCommittedError) log(error.message) }
 * ```
 */
export class SessionCommittedError extends CloakroomError {
  constructor(call: string) {
    super(
      'SESSION_COMMITTED',
      `cloakroom: session.${call}() was called after the session was committed with the response; change the session before the response is sent`,
    )
  }
}
