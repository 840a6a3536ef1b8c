// Quick start: the fetch level, with no framework — `manager.handle(request, (session) => response)`.
// The handler is a plain `(Request) => Promise<Response>`: export it as `default { fetch }` on Bun,
// Deno or Cloudflare Workers. Here it is served on Node.
//
//   SESSION_KEY=$(npx cloakroom keygen) npx tsx examples/fetch.ts
//   then open http://localhost:3000 (PORT to change it)
import { serve } from '@hono/node-server'
import { createSessionManager } from '../src/create.js'
import { MemoryStore } from '../src/stores/memory/index.js'

const key = process.env.SESSION_KEY
if (!key) throw new Error('Set SESSION_KEY to a secret of 32 bytes or more: make one with `npx cloakroom keygen`.')

// The session's data type, given once: session.get('visits') is a Promise<number | undefined>.
type Data = { user?: string; visits?: number }

const manager = createSessionManager<Data>({ store: new MemoryStore(), keys: [key] })

async function fetchHandler(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url)
  const form = request.method === 'POST' ? await request.formData().catch(() => undefined) : undefined
  return manager.handle(request, async (session) => {
    if (request.method === 'GET' && pathname === '/') {
      const user = await session.get('user')
      const visits = ((await session.get('visits')) ?? 0) + 1
      session.insert('visits', visits)
      return Response.json({ user: user ?? null, visits })
    }
    if (request.method === 'POST' && pathname === '/login') {
      const name = form?.get('name')
      session.insert('user', typeof name === 'string' ? name : 'guest')
      session.renew() // a new id on login
      return new Response(null, { status: 303, headers: { location: '/' } })
    }
    if (request.method === 'POST' && pathname === '/logout') {
      session.purge()
      return new Response(null, { status: 303, headers: { location: '/' } })
    }
    return new Response('not found', { status: 404 })
  })
}

serve({ fetch: fetchHandler, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? 'localhost' }, (info) => {
  console.log(`listening on http://localhost:${info.port}`)
})
