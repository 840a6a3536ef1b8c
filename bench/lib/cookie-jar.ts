/**
 * The smallest cookie jar the load generator needs: a `Cookie` header updated from `Set-Cookie`
 * lines, as a browser would, so that a library that sends a new cookie on a change (every cookie
 * store, and every store on renew) sees its new cookie on that session's next request.
 *
 * @module
 */

/**
 * The `Cookie` header after a response's `Set-Cookie` lines: new values replace old ones, and a
 * cookie removed with `Max-Age=0` or a past `Expires` is dropped.
 *
 * @example
 * ```ts
 * updateCookieHeader('id=a; x=1', ['id=b; Path=/; HttpOnly']) // 'id=b; x=1'
 * ```
 */
export function updateCookieHeader(cookieHeader: string, setCookies: readonly string[]): string {
  if (setCookies.length === 0) return cookieHeader
  const jar = new Map<string, string>()
  for (const pair of cookieHeader.split('; ')) {
    const eq = pair.indexOf('=')
    if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  for (const line of setCookies) {
    const first = line.split(';', 1)[0] ?? ''
    const eq = first.indexOf('=')
    if (eq <= 0) continue
    const name = first.slice(0, eq).trim()
    if (removes(line)) jar.delete(name)
    else jar.set(name, first.slice(eq + 1).trim())
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}

function removes(line: string): boolean {
  if (/;\s*max-age=(0|-\d+)\s*(;|$)/i.test(line)) return true
  const expires = /;\s*expires=([^;]+)/i.exec(line)
  return expires !== null && Date.parse(expires[1] ?? '') < Date.now()
}

/**
 * The `Set-Cookie` lines of a header object whose names may come in any case, and whose repeated
 * lines come as an array.
 *
 * @example
 * ```ts
 * setCookieLines({ 'Set-Cookie': ['a=1', 'b=2'] }) // ['a=1', 'b=2']
 * ```
 */
export function setCookieLines(headers: Record<string, string | string[] | undefined>): string[] {
  const lines: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'set-cookie' || value === undefined) continue
    if (Array.isArray(value)) lines.push(...value)
    else lines.push(value)
  }
  return lines
}
