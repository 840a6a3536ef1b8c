import { createSessionManager, type Session, type SessionOptions, type SessionStore } from '../../src/index.js'
import { InstrumentedStore } from '../support/stores.js'

/** A handler of the fetch-level API. */
export type Handler = (session: Session) => Response | Promise<Response>

/** Fixed test secrets (never use these in an app): the newest first where a ring is built from them. */
export const KEY_A = 'portable-suite key A: thirty-two bytes or more, only for tests'
export const KEY_B = 'portable-suite key B: thirty-two bytes or more, only for tests'

/** A manager over a call-counting wrapper of `inner`, and a `send` that runs one request through `handle`. */
export function setup(inner: SessionStore, options: Partial<SessionOptions> = {}) {
  const store = new InstrumentedStore(inner)
  const manager = createSessionManager({ store, keys: [KEY_A], logger: silent, ...options })
  const send = (handler: Handler, cookie?: string): Promise<Response> =>
    manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)
  return { manager, store, send }
}

/** Keeps the expected warnings and errors of the cases out of the runtime's console. */
export const silent = { debug: () => {}, warn: () => {}, error: () => {} }

export const ok = (): Response => new Response('ok')

/** Answers the JSON of every entry of the session. */
export const dump: Handler = async (session) => Response.json(await session.entries())

/** Runs `fn` with `Date.now` reading a clock the test moves; restores the real clock afterwards. */
export async function withClock<T>(start: number, fn: (advanceSeconds: (seconds: number) => void) => Promise<T>): Promise<T> {
  const realNow = Date.now
  let now = start
  Date.now = () => now
  try {
    return await fn((seconds) => {
      now += seconds * 1000
    })
  } finally {
    Date.now = realNow
  }
}

/** Flips one bit of the character at `index` of a base64url text, keeping it base64url. */
export function flipCharacter(value: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const at = alphabet.indexOf(value[index] ?? '')
  if (at < 0) throw new Error(`not a base64url character at ${index} of the value`)
  return value.slice(0, index) + alphabet[at ^ 1] + value.slice(index + 1)
}
