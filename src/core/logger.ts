/**
 * Where cloakroom's diagnostics go. Messages never hold a session id, a cookie value or key material.
 *
 * @example
 * ```ts
 * createSessionManager({ store, keys, logger: { debug: (m) => pino.debug(m), warn: (m) => pino.warn(m) } })
 * ```
 */
export interface Logger {
  debug(message: string): void
  warn(message: string): void
  error(message: string): void
}

/**
 * A short, non-reversible fingerprint of a secret-bearing value (32-bit FNV-1a), so logs can tell
 * two cookies apart without holding either.
 */
export function fingerprint(value: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}
