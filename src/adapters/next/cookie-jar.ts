import { parseSetCookie } from 'cookie'
import type { HeaderView } from '../../core/engine.js'

/**
 * A cookie as Next.js's `cookies().set()` takes it (the `ResponseCookie` of `next/headers`),
 * reduced to what the session cookie uses.
 */
export interface NextCookie {
  name: string
  value: string
  path?: string
  domain?: string
  maxAge?: number
  expires?: Date
  httpOnly?: boolean
  secure?: boolean
  sameSite?: 'lax' | 'strict' | 'none'
  partitioned?: boolean
}

/**
 * The part of what `await cookies()` from `next/headers` returns that cloakroom uses. Typed here by
 * structure, so that the adapter imports nothing of Next.js: pass Next's own `cookies`.
 */
export interface NextCookieJar {
  get(name: string): { value: string } | undefined
  set(cookie: NextCookie): unknown
}

/**
 * Whether `jar` is the read-only one Next.js gives a server component. Next hands out its
 * read-only jar as a proxy whose `set` and `delete` are one and the same throwing function, while
 * the jar of a server action or route handler wraps each in a function of its own. Asked before the
 * store is written: a session changed in the store whose cookie could not be sent would log the
 * user out (a renew) or leave a record no cookie names (a new session).
 */
export function isReadOnlyJar(jar: NextCookieJar): boolean {
  const { set, delete: remove } = jar as NextCookieJar & { delete?: unknown }
  return typeof set === 'function' && set === remove
}

/** A response head that exists only to catch what the manager commits: the `Set-Cookie` lines. */
export class CapturedHead implements HeaderView {
  readonly setCookies: string[] = []
  readonly #others = new Headers()

  get(name: string): string | null {
    return this.#others.get(name)
  }

  set(name: string, value: string): void {
    this.#others.set(name, value)
  }

  append(name: string, value: string): void {
    if (name.toLowerCase() === 'set-cookie') this.setCookies.push(value)
    else this.#others.append(name, value)
  }
}

/**
 * The `cookies().set()` argument that sends the same cookie as a `Set-Cookie` line cloakroom
 * rendered: name, value and every attribute (Next renders `Max-Age` with an `Expires` beside it).
 */
export function cookieOfLine(line: string): NextCookie {
  const parsed = parseSetCookie(line)
  const cookie: NextCookie = { name: parsed.name, value: parsed.value ?? '', path: parsed.path ?? '/' }
  if (parsed.domain !== undefined) cookie.domain = parsed.domain
  if (parsed.maxAge !== undefined) cookie.maxAge = parsed.maxAge
  if (parsed.expires !== undefined) cookie.expires = parsed.expires
  if (parsed.httpOnly === true) cookie.httpOnly = true
  if (parsed.secure === true) cookie.secure = true
  if (typeof parsed.sameSite === 'string') cookie.sameSite = parsed.sameSite
  if (parsed.partitioned === true) cookie.partitioned = true
  return cookie
}
