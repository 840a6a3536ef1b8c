/** A value JSON can carry unchanged. Session values are always of this type. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The data of one session: string keys to JSON values. */
export type SessionData = Record<string, Json>

/**
 * What a value that JSON cannot carry becomes in {@link JsonSafe}: the compiler's error quotes it,
 * at the property that holds the value.
 *
 * @example
 * ```ts
 * createSessionManager<{ at: Date }>(options)
 * // error: Types of property 'at' are incompatible. Type 'Date' is not assignable to type '"cloakroom: not a JSON value (…)"'.
 * ```
 */
export type NotJson = 'cloakroom: not a JSON value (a Date, Map, Set, class instance, function, bigint, symbol, undefined or unknown)'

/** The keys of `T` whose values are functions: an object with methods is a class instance, not JSON. */
type MethodKeys<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T]

/**
 * `T` with every part that JSON cannot carry replaced by {@link NotJson}: a type is JSON exactly
 * when it is assignable to its own `JsonSafe`. Interfaces count as well as type literals (a plain
 * `Json` constraint would refuse interfaces, which have no index signature). A class whose
 * instances hold only data passes, as types are structural; `insert` still refuses the instance
 * at run time.
 *
 * @example
 * ```ts
 * type Ok = { id: string; roles: string[] } extends JsonSafe<{ id: string; roles: string[] }> ? true : false // true
 * type No = { at: Date } extends JsonSafe<{ at: Date }> ? true : false // false
 * ```
 */
export type JsonSafe<T> = T extends Json
  ? T
  : T extends readonly unknown[]
    ? { [K in keyof T]: JsonSafe<T[K]> }
    : T extends (...args: never[]) => unknown
      ? NotJson
      : T extends object
        ? [MethodKeys<T>] extends [never]
          ? { [K in keyof T]: JsonSafe<T[K]> }
          : NotJson
        : NotJson

/**
 * The constraint on a session's data type: string keys to JSON values, a key being absent allowed
 * (`counter?: number`). `Data extends JsonShape<Data>` refuses `{ at: Date }` or `{ seen: Set<string> }`
 * at compile time, where `insert` would refuse the value at run time.
 *
 * @example
 * ```ts
 * function visits<Data extends JsonShape<Data> & { visits?: number }>(session: Session<Data>) {
 *   return session.get('visits')
 * }
 * ```
 */
export type JsonShape<Data> = { [K in keyof Data]: JsonSafe<Exclude<Data[K], undefined>> | undefined }
