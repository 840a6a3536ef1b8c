// Type tests for cloakroom/express: this file is only typechecked (tsc -p tsconfig.json), never run.
// Each @ts-expect-error fails the build if the typing it guards became too loose.
import express from 'express'
import type { Request, RequestHandler } from 'express'
import { getSession, sessions } from '../../src/adapters/express/index.js'
import type { RegisteredData } from '../../src/core/register.js'
import type { Session } from '../../src/core/session.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<T extends true>(): T | undefined {
  return undefined
}

const app = express()
const middleware = sessions({ store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] })
expectType<Equal<typeof middleware, RequestHandler>>()
app.use(middleware)

app.get('/', async (req, res) => {
  // req.session comes from the global Express.Request augmentation, driven by Register.
  expectType<Equal<typeof req.session, Session<RegisteredData>>>()
  req.session.insert('counter', 1)
  // @ts-expect-error a function is not a JSON value
  req.session.insert('callback', () => 1)
  // @ts-expect-error a BigInt is not a JSON value
  req.session.insert('big', 1n)
  res.send('ok')
})

type Data = { counter?: number; user?: { id: string } }

export async function typedView(req: Request): Promise<void> {
  const session = getSession<Data>(req)
  expectType<Equal<typeof session, Session<Data>>>()
  const counter = await session.get('counter')
  expectType<Equal<typeof counter, number | undefined>>()
  session.insert('counter', (counter ?? 0) + 1)
  session.insert('user', { id: 'ferris' })
  // @ts-expect-error 'nope' is not a key of Data
  session.insert('nope', 1)
  // @ts-expect-error counter holds a number, not a string
  session.insert('counter', 'one')
  // @ts-expect-error user.id is a string
  session.insert('user', { id: 1 })
  // @ts-expect-error 'nope' is not a key of Data
  await session.get('nope')
}
