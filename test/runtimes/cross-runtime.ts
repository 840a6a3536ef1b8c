import { CookieStore, createSessionManager } from '../../src/index.js'

/** How the cookie is protected. */
export type ContentSecurity = 'private' | 'signed'

// A fixed secret both sides know: the point is that a value sealed by one crypto implementation
// opens under the other. Never use it outside tests.
const CROSS_KEY = 'cross-runtime check: a shared test secret of 32+ bytes'

/** What the sealing side stores, and the opening side must read back exactly. */
export const CROSS_DATA = { user: 'zoë', coat: '🧥', n: 42, nested: { list: [1, null, true] } }

function manager(mode: ContentSecurity) {
  return createSessionManager({ store: new CookieStore(), keys: [CROSS_KEY], contentSecurity: mode })
}

/**
 * Seals {@link CROSS_DATA} in a CookieStore session and returns the `Cookie` header that carries it.
 *
 * @example
 * ```ts
 * const cookie = await sealAcross('private') // 'id=e1.…'
 * ```
 */
export async function sealAcross(mode: ContentSecurity): Promise<string> {
  const response = await manager(mode).handle(new Request('http://localhost/'), (session) => {
    for (const [key, value] of Object.entries(CROSS_DATA)) session.insert(key, value)
    return new Response('sealed')
  })
  const line = response.headers.getSetCookie()[0]
  if (line === undefined) throw new Error('the sealing side set no cookie')
  return line.split(';')[0] as string
}

/**
 * Opens a `Cookie` header sealed by {@link sealAcross} (perhaps on another runtime) and returns
 * the session's entries: `{}` when the value did not open.
 *
 * @example
 * ```ts
 * await openAcross('private', cookieFromWorkerd) // CROSS_DATA
 * ```
 */
export async function openAcross(mode: ContentSecurity, cookie: string): Promise<unknown> {
  let entries: unknown
  await manager(mode).handle(new Request('http://localhost/', { headers: { cookie } }), async (session) => {
    entries = await session.entries()
    return new Response('opened')
  })
  return entries
}
