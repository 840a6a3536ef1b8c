// Typechecked by `tsc -p tsconfig.json`, never run: every `@ts-expect-error` below must stay an
// error, so the file stops compiling if the adapter's typing became too loose.
import Koa from 'koa'
import { getSession, sessions } from '../../src/adapters/koa/index.js'
import type { RegisteredData } from '../../src/core/register.js'
import type { Session } from '../../src/core/session.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<_T extends true>(): void {}

type Data = { counter: number; user?: string }
const options = { store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] }

export function koaTypes(): void {
  const app = new Koa()
  app.use(sessions(options))
  // @ts-expect-error: keys must be strings or bytes
  sessions({ store: new MemoryStore(), keys: 42 })

  app.use(async (ctx) => {
    // ctx.session and ctx.state.session are typed through Register (here the default: any JSON under any key).
    expectType<Equal<typeof ctx.session, Session<RegisteredData>>>()
    expectType<Equal<typeof ctx.state.session, Session<RegisteredData>>>()
    ctx.session.insert('counter', 1)
    // @ts-expect-error: a function is not a JSON value
    ctx.session.insert('callback', () => 1)

    const session = getSession<Data>(ctx)
    session.insert('counter', 2)
    const counter: number | undefined = await session.get('counter')
    // @ts-expect-error: a key the data type does not have
    session.insert('countr', 2)
    // @ts-expect-error: a value of the wrong type for its key
    session.insert('counter', 'two')
    ctx.body = { counter }
  })

  // An app with its own state and context types accepts the middleware too.
  const typed = new Koa<{ user: string }, { requestId: string }>()
  typed.use(sessions(options))
  typed.use(async (ctx) => {
    expectType<Equal<typeof ctx.requestId, string>>()
    ctx.body = await getSession<Data>(ctx).get('user')
  })
}
