// Typechecked by `tsc -p tsconfig.json`, never run: every `@ts-expect-error` below must stay an
// error, so the file stops compiling if the adapter's typing became too loose.
import Fastify from 'fastify'
import fastifySessions, { getSession, sessions } from '../../src/adapters/fastify/index.js'
import type { RegisteredData } from '../../src/core/register.js'
import type { Session } from '../../src/core/session.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<_T extends true>(): void {}

type Data = { counter: number; user?: string }

export async function fastifyTypes(): Promise<void> {
  const app = Fastify()
  const keys = ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU']
  await app.register(sessions, { store: new MemoryStore(), keys })
  await app.register(fastifySessions, { store: new MemoryStore(), keys, cookie: { name: '__Host-id' } })
  // @ts-expect-error: keys must be strings or bytes
  await app.register(sessions, { store: new MemoryStore(), keys: 42 })
  // @ts-expect-error: the store option is required
  await app.register(sessions, { keys })

  app.get('/', async (request) => {
    // request.session is typed through Register (here the default: any JSON under any key).
    expectType<Equal<typeof request.session, Session<RegisteredData>>>()
    request.session.insert('counter', 1)
    // @ts-expect-error: a function is not a JSON value
    request.session.insert('callback', () => 1)

    const session = getSession<Data>(request)
    session.insert('counter', 2)
    const counter: number | undefined = await session.get('counter')
    // @ts-expect-error: a key the data type does not have
    session.insert('countr', 2)
    // @ts-expect-error: a value of the wrong type for its key
    session.insert('counter', 'two')
    return { counter }
  })
}
