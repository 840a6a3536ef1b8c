// hono-sessions 0.8 on Hono (on @hono/node-server) with its CookieStore, configured as its README shows.
import { serve } from '@hono/node-server'
import type { MiddlewareHandler } from 'hono'
import { Hono } from 'hono'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

interface PeerSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
}
interface Peer {
  sessionMiddleware(options: Record<string, unknown>): MiddlewareHandler
  CookieStore: new () => unknown
}

const { sessionMiddleware, CookieStore } = await loadPeer<Peer>('hono-sessions')
const app = new Hono<{ Variables: { session: PeerSession } }>()
app.use(
  '*',
  sessionMiddleware({
    store: new CookieStore(),
    encryptionKey: SECRET,
    expireAfterSeconds: 900,
    autoExtendExpiration: true,
    // Secure is off only because the benchmark speaks plain HTTP.
    cookieOptions: { sameSite: 'Lax', path: '/', httpOnly: true, secure: false },
  }),
)
app.get('/counter', (c) => {
  const next = counterOf(c.get('session').get('counter')) + 1
  c.get('session').set('counter', next)
  return c.text(String(next))
})
app.get('/read', (c) => c.text(String(counterOf(c.get('session').get('counter')))))
app.get('/untouched', (c) => c.text('ok'))
serve({ fetch: app.fetch, port: listenPort(), hostname: '127.0.0.1' }, announceReady)
