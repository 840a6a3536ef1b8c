// Quick start: sessions in a Hono app (here served on Node; the same app runs on Bun, Deno and Workers).
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/hono.ts
//   then open http://localhost:3000 (PORT to change it)
//
// Browsers treat http://localhost as a secure context, so the default `Secure` cookie works there;
// anywhere else, serve over HTTPS.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { sessions, type SessionEnv } from '../src/adapters/hono/index.js'
import { MemoryStore } from '../src/stores/memory/index.js'

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

// The session's data type, given once for this app: c.get('session') is a Session<Data>, so
// session.get('visits') is a Promise<number | undefined> and session.insert('visits', 'x') does not compile.
type Data = { user?: string; visits?: number }

const app = new Hono<SessionEnv<Data>>()
// Every request gets c.get('session'); the cookie and the store write happen before the response leaves.
app.use(sessions<Data>({ store: new MemoryStore(), keys: [key] }))

app.get('/', async (c) => {
  const session = c.get('session')
  const user = await session.get('user')
  const visits = ((await session.get('visits')) ?? 0) + 1
  session.insert('visits', visits)
  return c.json({ user: user ?? null, visits })
})

app.post('/login', async (c) => {
  const form = await c.req.parseBody()
  const session = c.get('session')
  session.insert('user', typeof form.name === 'string' ? form.name : 'guest')
  // A new id on login, so an id seen before the login cannot be used after it.
  session.renew()
  return c.redirect('/', 303)
})

app.post('/logout', (c) => {
  c.get('session').purge()
  return c.redirect('/', 303)
})

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? 'localhost' }, (info) => {
  console.log(`listening on http://localhost:${info.port}`)
})
