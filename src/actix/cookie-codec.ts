import type { OpenedCookie } from '../core/session.js'
import { PRIVATE_VERSION, SIGNED_VERSION } from '../crypto/format.js'
import type { ContentSecurity, CookieSealer, MaybePromise, OpenedValue } from '../crypto/types.js'
import type { ResolvedActix } from './options.js'
import { ACTIX_ID, CLOAKROOM_ID } from './transition-store.js'
import type { ActixCrypto } from './types.js'
import { LazySealer } from '../crypto/lazy-sealer.js'

/** Whether a cookie value is in cloakroom's own format (`e1.…` or `s1.…`); an actix-session value never is (no `.` in base64). */
export function isCloakroomValue(value: string): boolean {
  return value.startsWith(`${PRIVATE_VERSION}.`) || value.startsWith(`${SIGNED_VERSION}.`)
}

/**
 * The manager's actix-session cookie format: opens actix-session values into the id the store view
 * expects, and, when cloakroom writes actix-session's format, seals ids as actix-session does.
 *
 * @example
 * ```ts
 * const cookies = new ActixCookies(cryptoProvider.actix!, resolved.actix!, 'private', 'id')
 * const opened = await cookies.open(value) // { id, createdAt: now, stale, migrate } or null
 * ```
 */
export class ActixCookies {
  readonly #crypto: ActixCrypto
  readonly #options: ResolvedActix
  readonly #mode: ContentSecurity
  readonly #cookieName: string
  readonly #sealer = new LazySealer(() => this.#crypto.createSealer({ secrets: this.#options.secrets, keyMode: this.#options.keyMode, mode: this.#mode, cookieName: this.#cookieName }))

  constructor(crypto: ActixCrypto, options: ResolvedActix, mode: ContentSecurity, cookieName: string) {
    this.#crypto = crypto
    this.#options = options
    this.#mode = mode
    this.#cookieName = cookieName
  }

  /** Whether cloakroom writes actix-session's format (otherwise it only reads it). */
  get writes(): boolean {
    return this.#options.write
  }

  /** Whether this value is for this format to open (any value not in cloakroom's format). */
  claims(value: string): boolean {
    return !isCloakroomValue(value)
  }

  /** Whether a cookie value is in the format not written, so that its session moves on this request. */
  moves(value: string | undefined): boolean {
    return value !== undefined && value !== '' && isCloakroomValue(value) === this.#options.write
  }

  /** A cloakroom cookie read while actix-session's format is written: its session moves to that format. */
  foreign(opened: OpenedCookie | null): OpenedCookie | null {
    return opened === null || !this.#options.write ? opened : { ...opened, id: CLOAKROOM_ID + opened.id, stale: false, migrate: true }
  }

  /**
   * The session key inside an actix-session value, or `null` when it does not open. The creation
   * time is unknown (actix-session keeps none): it is taken as now.
   */
  open(value: string): MaybePromise<OpenedCookie | null> {
    const sealer = this.#sealerNow()
    if (sealer instanceof Promise) return sealer.then((ready) => ready.open(value)).then((opened) => this.#opened(opened))
    const opened = sealer.open(value)
    return opened instanceof Promise ? opened.then((settled) => this.#opened(settled)) : this.#opened(opened)
  }

  /** The cookie value (protected and percent-encoded) for a session key. */
  seal(id: string): MaybePromise<string> {
    const sealer = this.#sealerNow()
    return sealer instanceof Promise ? sealer.then((ready) => ready.seal(id)) : sealer.seal(id)
  }

  #opened(opened: OpenedValue | null): OpenedCookie | null {
    if (opened === null) return null
    const createdAt = Date.now()
    if (this.#options.write) return { id: opened.plaintext, createdAt, stale: opened.stale }
    return { id: ACTIX_ID + opened.plaintext, createdAt, stale: false, migrate: true }
  }

  #sealerNow(): CookieSealer | Promise<CookieSealer> {
    return this.#sealer.get()
  }
}
