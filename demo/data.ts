import type { SessionEnv } from '../src/adapters/hono/index.js'

/** What the demo keeps in a session: JSON values only, checked by the compiler. */
export interface DemoData {
  /** The signed-in user's name; the demo files sessions by it (`userKey`). */
  userId?: string
  /** The cart: quantity by catalogue item. */
  cart?: Record<string, number>
}

/** The demo's flash messages: a notice shown once, on the page a form redirects to. */
export interface DemoFlash {
  /** What the last form did ("Added a wool scarf to the cart."). */
  notice?: string
}

/** The demo's Hono environment: `c.get('session')` is a `Session<DemoData, DemoFlash>` in every route. */
export type DemoEnv = SessionEnv<DemoData, DemoFlash>
