// Quick start: sessions in a Fastify 5 app.
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/fastify.ts
//   then open http://localhost:3000 (PORT to change it)
//
// Browsers treat http://localhost as a secure context, so the default `Secure` cookie works there;
// anywhere else, serve over HTTPS.
import Fastify from 'fastify'
import { sessions } from '../src/adapters/fastify/index.js'
import { MemoryStore } from '../src/index.js'

// The session's data, declared once for the whole program: request.session.get('visits') is then a
// Promise<number | undefined>, and a value of the wrong type (or one JSON cannot carry) does not compile.
declare module '../src/index.js' {
  interface Register {
    data: { user?: string; visits?: number }
  }
}

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

const app = Fastify()
// Every request of this scope gets request.session; the cookie and the store write happen in
// onSend, before the head leaves. A bad option makes this register (and the app) fail at start-up.
await app.register(sessions, { store: new MemoryStore(), keys: [key] })

app.get('/', async (request) => {
  const user = await request.session.get('user')
  const visits = ((await request.session.get('visits')) ?? 0) + 1
  request.session.insert('visits', visits)
  return { user: user ?? null, visits }
})

app.post('/login', async (request, reply) => {
  const name = (request.body as { name?: string } | undefined)?.name ?? 'guest'
  request.session.insert('user', name)
  // A new id on login, so an id seen before the login cannot be used after it.
  request.session.renew()
  // The redirect leaves only once the store has the record: the next request finds it.
  return reply.redirect('/', 303)
})

app.post('/logout', async (request, reply) => {
  request.session.purge()
  return reply.redirect('/', 303)
})

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? 'localhost' })
console.log(`listening on http://localhost:${new URL(address).port}`)
