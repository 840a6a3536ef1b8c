// Quick start: sessions in an Express app (Express 5 or 4).
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/express.ts
//   then open http://localhost:3000 (PORT to change it)
//
// Browsers treat http://localhost as a secure context, so the default `Secure` cookie works there;
// anywhere else, serve over HTTPS.
import express from 'express'
import type { AddressInfo } from 'node:net'
import { sessions } from '../src/adapters/express/index.js'
import { MemoryStore } from '../src/index.js'

// The session's data, declared once for the whole program: req.session.get('visits') is then a
// Promise<number | undefined>, and a value of the wrong type (or one JSON cannot carry) does not compile.
declare module '../src/index.js' {
  interface Register {
    data: { user?: string; visits?: number }
  }
}

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

const app = express()
app.use(express.urlencoded({ extended: false }))
// Every request gets req.session; the cookie and the store write happen before the head leaves.
app.use(sessions({ store: new MemoryStore(), keys: [key] }))

app.get('/', async (req, res) => {
  const user = await req.session.get('user')
  const visits = ((await req.session.get('visits')) ?? 0) + 1
  req.session.insert('visits', visits)
  res.json({ user: user ?? null, visits })
})

app.post('/login', (req, res) => {
  const name = (req.body as { name?: string } | undefined)?.name ?? 'guest'
  req.session.insert('user', name)
  // A new id on login, so an id seen before the login cannot be used after it.
  req.session.renew()
  // The redirect leaves only once the store has the record: the next request finds it.
  res.redirect(303, '/')
})

app.post('/logout', (req, res) => {
  req.session.purge()
  res.redirect(303, '/')
})

const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://localhost:${port}`)
})
