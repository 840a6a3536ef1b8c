// Typechecked by `tsc -p tsconfig.json`, never run: the schema option types the session data (or is
// checked against the type given), and every `@ts-expect-error` below must stay an error.
import { Hono } from 'hono'
import * as v from 'valibot'
import { sessions as expressSessions } from '../../src/adapters/express/index.js'
import { sessions as honoSessions } from '../../src/adapters/hono/index.js'
import { withSessions } from '../../src/adapters/node/index.js'
import { createSessionManager } from '../../src/create.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<_T extends true>(): void {}

const options = { store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] }

export async function inferredFromSchemas(request: Request): Promise<void> {
  // One schema per key: the data type is read from them.
  const perKey = createSessionManager({ ...options, schema: { counter: v.number(), user: v.object({ id: v.string() }) } })
  await perKey.handle(request, async (session) => {
    const counter = await session.get('counter')
    expectType<Equal<typeof counter, number | undefined>>()
    // @ts-expect-error: the schema says counter is a number
    session.insert('counter', 'x')
    // @ts-expect-error: no schema names this key
    session.insert('nope', 1)
    return new Response(String(counter))
  })

  // A schema for the whole record.
  const whole = createSessionManager({ ...options, schema: v.object({ counter: v.optional(v.number()), roles: v.array(v.string()) }) })
  await whole.handle(request, async (session) => {
    const roles = await session.get('roles')
    expectType<Equal<typeof roles, string[] | undefined>>()
    // @ts-expect-error: roles holds strings
    session.insert('roles', [1])
    return Response.json(roles)
  })

  // @ts-expect-error: a schema whose output JSON cannot carry (a Date) gives a data type that does not compile
  createSessionManager({ ...options, schema: { at: v.date() } })
}

type Data = { counter?: number; user?: string }

// A schema is checked against the data type given.
createSessionManager<Data>({ ...options, schema: { counter: v.number(), user: v.string() } })
createSessionManager<Data>({ ...options, schema: v.object({ counter: v.optional(v.number()) }) })
// @ts-expect-error: counter is a number, the schema says string
createSessionManager<Data>({ ...options, schema: { counter: v.string() } })
// @ts-expect-error: the record schema's counter is a string
createSessionManager<Data>({ ...options, schema: v.object({ counter: v.string() }) })

// migrate returns the current shape (any part of it), and does not decide the data type.
createSessionManager<Data>({ ...options, version: 2, migrate: (old, from) => (from < 2 ? { user: String(old.name) } : {}) })
// @ts-expect-error: migrate's counter must be a number
createSessionManager<Data>({ ...options, version: 2, migrate: () => ({ counter: 'one' }) })
// @ts-expect-error: onInvalid is 'drop' or 'error'
createSessionManager<Data>({ ...options, schema: { counter: v.number() }, onInvalid: 'ignore' })

// Hono, chained: the schema types c.get('session').
new Hono().use(honoSessions({ ...options, schema: { counter: v.number() } })).get('/', async (c) => {
  const counter = await c.get('session').get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  // @ts-expect-error: the schema says counter is a number
  c.get('session').insert('counter', 'x')
  return c.text(String(counter))
})

// node:http: the schema types the handler's session.
withSessions({ ...options, schema: { counter: v.number() } }, async (_req, res, session) => {
  // @ts-expect-error: the schema says counter is a number
  session.insert('counter', 'x')
  res.end(String(await session.get('counter')))
})

// Express types req.session by Register, so its options are checked against the type given, never inferred.
expressSessions<Data>({ ...options, schema: { counter: v.number() } })
// @ts-expect-error: Data's counter is a number
expressSessions<Data>({ ...options, schema: { counter: v.string() } })
