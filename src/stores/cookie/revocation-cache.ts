import { EVERYONE, type RevocationList, type RevocationMark } from '../../core/revocation.js'

/** How many users' marks one process keeps at most; the least recently fetched go first. */
const MAX_CACHED = 10_000

interface Cached {
  mark: RevocationMark | null
  fetchedAt: number
}

/**
 * A revocation list read through a short in-process cache: each user's mark (and the everyone
 * mark) is fetched at most once per `maxAgeMs`, so a revocation made in another process takes
 * effect here within that time, and one made in this process at once.
 */
export class RevocationCache {
  readonly #list: RevocationList
  readonly #maxAgeMs: number
  readonly #cached = new Map<string, Cached>()

  constructor(list: RevocationList, maxAgeMs: number) {
    this.#list = list
    this.#maxAgeMs = maxAgeMs
  }

  /** Whether a session of `userId` (or of no user) created at `createdAt` with `handle` is revoked. */
  async revoked(userId: string | undefined, createdAt: number, handle: string | undefined): Promise<boolean> {
    const everyone = await this.#mark(EVERYONE)
    if (everyone !== null && createdAt < everyone.before && (handle === undefined || handle !== everyone.except)) return true
    if (userId === undefined) return false
    const mark = await this.#mark(userId)
    return mark !== null && createdAt < mark.before && handle !== mark.except
  }

  /** Writes a mark and sees it at once in this process. */
  async set(userId: string, mark: RevocationMark): Promise<void> {
    await this.#list.set(userId, mark, null)
    this.#remember(userId, mark, Date.now())
  }

  async #mark(userId: string): Promise<RevocationMark | null> {
    const now = Date.now()
    const cached = this.#cached.get(userId)
    if (cached !== undefined && now - cached.fetchedAt < this.#maxAgeMs) return cached.mark
    const mark = await this.#list.get(userId)
    this.#remember(userId, mark, now)
    return mark
  }

  #remember(userId: string, mark: RevocationMark | null, fetchedAt: number): void {
    this.#cached.delete(userId)
    this.#cached.set(userId, { mark, fetchedAt })
    if (this.#cached.size > MAX_CACHED) this.#cached.delete(this.#cached.keys().next().value as string)
  }
}
