// Quick start: sessions in a Koa app (Koa 3 or 2).
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/koa.ts
//   then open http://localhost:3000 (PORT to change it)
//
// Browsers treat http://localhost as a secure context, so the default `Secure` cookie works there;
// anywhere else, serve over HTTPS.
import Koa from 'koa'
import type { AddressInfo } from 'node:net'
import { sessions } from '../src/adapters/koa/index.js'
import { MemoryStore } from '../src/index.js'

// The session's data, declared once for the whole program: ctx.session.get('visits') is then a
// Promise<number | undefined>, and a value of the wrong type (or one JSON cannot carry) does not compile.
declare module '../src/index.js' {
  interface Register {
    data: { user?: string; visits?: number }
  }
}

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

const app = new Koa()

// Your error handling goes first, outside the sessions middleware: a throw below it commits
// nothing and comes back here.
app.use(async (ctx, next) => {
  try {
    await next()
  } catch (error) {
    console.error(error)
    ctx.status = 500
    ctx.body = 'Something went wrong'
  }
})

// Every request gets ctx.session (and ctx.state.session); the cookie and the store write happen
// after the middleware below resolved, before Koa writes the response.
app.use(sessions({ store: new MemoryStore(), keys: [key] }))

app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    const user = await ctx.session.get('user')
    const visits = ((await ctx.session.get('visits')) ?? 0) + 1
    ctx.session.insert('visits', visits)
    ctx.body = { user: user ?? null, visits }
  } else if (ctx.method === 'POST' && ctx.path === '/login') {
    ctx.session.insert('user', typeof ctx.query.name === 'string' ? ctx.query.name : 'guest')
    // A new id on login, so an id seen before the login cannot be used after it.
    ctx.session.renew()
    // The redirect leaves only once the store has the record: the next request finds it.
    ctx.status = 303
    ctx.redirect('/')
  } else if (ctx.method === 'POST' && ctx.path === '/logout') {
    ctx.session.purge()
    ctx.status = 303
    ctx.redirect('/')
  }
})

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? 'localhost', () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://localhost:${port}`)
})
