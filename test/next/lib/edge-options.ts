// The sessions the edge middleware guards /guarded/* with. The middleware runs in the edge runtime,
// whose memory is not the server's: its store is the cookie store, which both share. Sealed with
// WebCrypto there and with node:crypto in the route handlers, the cookie must open on both sides.
import { CookieStore, type SessionOptions } from 'cloakroom'

export type EdgeData = { user_id?: string; visits?: number }

export function edgeOptions(): Omit<SessionOptions<EdgeData>, 'keys'> {
  return { store: new CookieStore(), cookie: { name: 'edge' }, lifecycle: { type: 'persistent', ttl: 3600, extendOn: 'every-request' } }
}
