// cloakroom on Fastify through its Fastify plugin, store from BENCH_STORE.
import Fastify from 'fastify'
import { getSession, sessions } from '../../dist/adapters/fastify/index.js'
import { cloakroomOptions } from './cloakroom-store.js'
import { announceReady, counterOf, listenPort } from './common.js'

const app = Fastify()
await app.register(sessions, await cloakroomOptions())
app.get('/counter', async (request) => {
  const session = getSession(request)
  const next = counterOf(await session.get('counter')) + 1
  session.insert('counter', next)
  return String(next)
})
app.get('/read', async (request) => String(counterOf(await getSession(request).get('counter'))))
app.get('/untouched', async () => 'ok')
app.get('/login', async (request) => {
  const session = getSession(request)
  session.insert('user', 'bench')
  session.renew()
  return 'ok'
})
await app.listen({ port: listenPort(), host: '127.0.0.1' })
announceReady()
