// Type tests for cloakroom/node: this file is only typechecked (tsc -p tsconfig.json), never run.
// Each @ts-expect-error fails the build if the typing it guards became too loose.
import { createServer } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { getSession, withSessions, type NodeSessionOptions } from '../../src/adapters/node/index.js'
import type { RegisteredData } from '../../src/core/register.js'
import type { Session } from '../../src/core/session.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<T extends true>(): T | undefined {
  return undefined
}

const options = { store: new MemoryStore(), keys: ['aw530Vs5j0Oo2Wwk93iwf1Bh5Dm6_x4dvYoJZp2faCU'] }
type Data = { counter?: number; roles?: string[] }

// The listener fits http.createServer as is; the session parameter carries the generic.
createServer(
  withSessions<Data>(options, async (_req, res, session) => {
    expectType<Equal<typeof session, Session<Data>>>()
    const counter = await session.get('counter')
    expectType<Equal<typeof counter, number | undefined>>()
    session.insert('counter', (counter ?? 0) + 1)
    session.insert('roles', ['admin'])
    // @ts-expect-error 'nope' is not a key of Data
    session.insert('nope', 1)
    // @ts-expect-error counter holds a number, not a string
    session.insert('counter', 'one')
    // @ts-expect-error roles holds strings
    session.insert('roles', [1])
    res.end()
  }),
)

// Without a type argument the session is typed by Register; handlers may be synchronous.
createServer(
  withSessions(options, (_req, res, session) => {
    expectType<Equal<typeof session, Session<RegisteredData>>>()
    // @ts-expect-error a function is not a JSON value
    session.insert('callback', () => 1)
    res.end()
  }),
)

// onHandlerError hears the thrown value (anything) and the request it came from.
expectType<Equal<Parameters<NonNullable<NodeSessionOptions['onHandlerError']>>, [error: unknown, req: IncomingMessage]>>()
withSessions({ ...options, onHandlerError: (_error, req) => console.error(req.url) }, () => {})

// @ts-expect-error an unknown option is refused at compile time too
withSessions({ ...options, onHandlerErorr: () => {} }, () => {})

export function helper(req: IncomingMessage): Session<Data> {
  return getSession<Data>(req)
}
