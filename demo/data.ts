import type { SessionEnv } from '../src/adapters/hono/index.js'

/** What the demo keeps in a session: JSON values only, checked by the compiler. */
export interface DemoData {
  counter?: number
  userId?: string
}

/** The demo's Hono environment: `c.get('session')` is a `Session<DemoData>` in every route. */
export type DemoEnv = SessionEnv<DemoData>
