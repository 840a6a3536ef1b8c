import type { SessionData } from './json.js'

/**
 * Declare your session's data type once, and every `Session` (and `c.get('session')`,
 * `req.session`, …) is typed with it.
 *
 * @example
 * ```ts
 * declare module 'cloakroom' {
 *   interface Register { data: { userId?: string; counter?: number } }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** The data type declared through {@link Register}, or `Record<string, Json>`. */
export type RegisteredData = Register extends { data: infer D extends object } ? D : SessionData
