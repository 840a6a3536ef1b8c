// express-session 1.x on Express 5, as its README and connect-redis's recommend for production
// (resave: false, saveUninitialized: false), with its MemoryStore or connect-redis (BENCH_STORE).
import type { Request, RequestHandler } from 'express'
import express from 'express'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

interface PeerSession {
  counter?: unknown
  user?: string
  regenerate(callback: (error?: unknown) => void): void
}
type SessionFactory = (options: Record<string, unknown>) => RequestHandler

const { default: session } = await loadPeer<{ default: SessionFactory }>('express-session')
let store: unknown
if (process.env['BENCH_STORE'] === 'redis') {
  const { createClient } = await import('redis')
  const { RedisStore } = await loadPeer<{ RedisStore: new (options: Record<string, unknown>) => unknown }>('connect-redis')
  const client = createClient({ url: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' })
  client.on('error', (error: Error) => console.error(`redis: ${error.message}`))
  await client.connect()
  store = new RedisStore({ client, prefix: 'express-session-bench:' })
}

const app = express()
app.use(
  session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    // Secure is off only because the benchmark speaks plain HTTP.
    cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
    ...(store === undefined ? {} : { store }),
  }),
)
const sessionOf = (req: Request): PeerSession => (req as unknown as { session: PeerSession }).session
app.get('/counter', (req, res) => {
  const s = sessionOf(req)
  const next = counterOf(s.counter) + 1
  s.counter = next
  res.send(String(next))
})
app.get('/read', (req, res) => void res.send(String(counterOf(sessionOf(req).counter))))
app.get('/untouched', (_req, res) => void res.send('ok'))
app.get('/login', (req, res, next) => {
  sessionOf(req).regenerate((error) => {
    if (error) return next(error)
    sessionOf(req).user = 'bench'
    res.send('ok')
  })
})
app.listen(listenPort(), '127.0.0.1', announceReady)
