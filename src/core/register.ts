import type { JsonSafe, JsonShape, SessionData } from './json.js'

/**
 * Declare your session's data type once, and every `Session` (and `c.get('session')`,
 * `req.session`, `request.session`, `ctx.session`, …) is typed with it. The values must be JSON:
 * a `Date`, a `Map` or a class instance makes every use of the session fail to compile, with an
 * error naming the key. `flash` types the flash messages (`session.flash`, `session.takeFlash`)
 * the same way.
 *
 * @example
 * ```ts
 * declare module 'cloakroom' {
 *   interface Register {
 *     data: { userId?: string; counter?: number }
 *     flash: { notice: string; error: { field: string; message: string } }
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** The keys of `D` whose values are not JSON. */
type NotJsonKeys<D> = {
  [K in keyof D]-?: Exclude<D[K], undefined> extends JsonSafe<Exclude<D[K], undefined>> ? never : K
}[keyof D]

/**
 * What {@link RegisteredData} is when `Register`'s data holds a value JSON cannot carry: a type
 * whose only keys are error messages, so that `get('counter')` or `insert('at', …)` anywhere fails
 * to compile and the error names the declaration to fix. (The augmentation itself cannot be
 * refused: an interface declaration has no constraint to check.)
 *
 * @example
 * ```ts
 * declare module 'cloakroom' {
 *   interface Register { data: { counter?: number; at: Date } }
 * }
 * await req.session.get('counter')
 * // error: Argument of type '"counter"' is not assignable to parameter of type '"cloakroom: Register's data.at is not JSON; …"'.
 * ```
 */
export type RegisterNotJson<D, Member extends string = 'data'> = {
  [K in NotJsonKeys<D> & string as `cloakroom: Register's ${Member}.${K} is not JSON; declare JSON values only (no Date, Map, Set, class instance, function, bigint or undefined)`]: never
}

/** The data type declared through {@link Register}, or `Record<string, Json>`. */
export type RegisteredData = Register extends { data: infer D extends object } ? (D extends JsonShape<D> ? D : RegisterNotJson<D>) : SessionData

/** The flash type declared through {@link Register}'s `flash`, or `Record<string, Json>` (any key, any JSON value). */
export type RegisteredFlash = Register extends { flash: infer F extends object } ? (F extends JsonShape<F> ? F : RegisterNotJson<F, 'flash'>) : SessionData
