/**
 * A revocation mark: the user's sessions created before `before` (epoch ms) no longer load,
 * except the one whose handle is `except` (the session that asked to sign the others out).
 *
 * @example
 * ```ts
 * const mark: RevocationMark = { before: Date.now(), except: currentHandle }
 * ```
 */
export interface RevocationMark {
  before: number
  except?: string
}

/** The user id under which a mark applies to every user ("revoke everything"). */
export const EVERYONE = '*'

/**
 * Where stateless (cookie-store) sessions are revoked: one small mark per user, and one for
 * {@link EVERYONE}. Every server store offers one (`store.revocationList()`), and anything with
 * get/set semantics can back it. `set` replaces the user's mark; `ttlMs` is how long it must
 * last (`null`: for good), which is at least as long as any session it revokes could live.
 *
 * @example
 * ```ts
 * const revocations: RevocationList = new MemoryStore().revocationList()
 * await revocations.set('u42', { before: Date.now() }, 30 * 86_400_000)
 * ```
 */
export interface RevocationList {
  get(userId: string): Promise<RevocationMark | null>
  set(userId: string, mark: RevocationMark, ttlMs: number | null): Promise<void>
}
