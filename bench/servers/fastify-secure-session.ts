// @fastify/secure-session 8 on Fastify, as its README recommends: a raw 32-byte key (no argon2 key
// derivation at start-up), cookie path '/'.
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import Fastify from 'fastify'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

interface PeerSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
}

const { default: secureSession } = await loadPeer<{ default: FastifyPluginAsync<Record<string, unknown>> }>('@fastify/secure-session')
const app = Fastify()
await app.register(secureSession, {
  key: createHash('sha256').update(SECRET).digest(),
  // Secure is off only because the benchmark speaks plain HTTP.
  cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false },
})
const sessionOf = (request: FastifyRequest): PeerSession => (request as unknown as { session: PeerSession }).session
app.get('/counter', async (request) => {
  const next = counterOf(sessionOf(request).get('counter')) + 1
  sessionOf(request).set('counter', next)
  return String(next)
})
app.get('/read', async (request) => String(counterOf(sessionOf(request).get('counter'))))
app.get('/untouched', async () => 'ok')
await app.listen({ port: listenPort(), host: '127.0.0.1' })
announceReady()
