// @fastify/session 11 (with @fastify/cookie) on Fastify, with its default in-memory store and
// saveUninitialized: false (sessions created only when data is set, as every other library here).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import Fastify from 'fastify'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

interface PeerSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
  regenerate(): Promise<void>
}
type Plugin = { default: FastifyPluginAsync<Record<string, unknown>> }

const { default: fastifyCookie } = await loadPeer<Plugin>('@fastify/cookie')
const { default: fastifySession } = await loadPeer<Plugin>('@fastify/session')
const app = Fastify()
await app.register(fastifyCookie)
await app.register(fastifySession, {
  secret: SECRET,
  saveUninitialized: false,
  // Secure is off only because the benchmark speaks plain HTTP.
  cookie: { secure: false, httpOnly: true, sameSite: 'lax', path: '/' },
})
const sessionOf = (request: FastifyRequest): PeerSession => (request as unknown as { session: PeerSession }).session
app.get('/counter', async (request) => {
  const next = counterOf(sessionOf(request).get('counter')) + 1
  sessionOf(request).set('counter', next)
  return String(next)
})
app.get('/read', async (request) => String(counterOf(sessionOf(request).get('counter'))))
app.get('/untouched', async () => 'ok')
app.get('/login', async (request) => {
  await sessionOf(request).regenerate()
  sessionOf(request).set('user', 'bench')
  return 'ok'
})
await app.listen({ port: listenPort(), host: '127.0.0.1' })
announceReady()
