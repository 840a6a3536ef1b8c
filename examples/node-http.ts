// Quick start: sessions on a plain node:http server.
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/node-http.ts
//   then open http://localhost:3000 (PORT to change it)
//
// Browsers treat http://localhost as a secure context, so the default `Secure` cookie works there;
// anywhere else, serve over HTTPS.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { withSessions } from '../src/adapters/node/index.js'
import { MemoryStore } from '../src/stores/memory/index.js'

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

// The session's data type, given once: session.get/insert are checked against it.
type Data = { user?: string; visits?: number }

const listener = withSessions<Data>({ store: new MemoryStore(), keys: [key] }, async (req, res, session) => {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost')

  if (req.method === 'POST' && pathname === '/login') {
    session.insert('user', 'ferris')
    // A new id on login, so an id seen before the login cannot be used after it.
    session.renew()
    // The head waits for the store: the redirect's next request finds the record.
    res.writeHead(303, { location: '/' }).end()
    return
  }
  if (req.method === 'POST' && pathname === '/logout') {
    session.purge()
    res.writeHead(303, { location: '/' }).end()
    return
  }
  if (pathname !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    return
  }
  const visits = ((await session.get('visits')) ?? 0) + 1
  session.insert('visits', visits)
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ user: (await session.get('user')) ?? null, visits }))
})

const server = createServer(listener).listen(Number(process.env.PORT ?? 3000), () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://localhost:${port}`)
})
