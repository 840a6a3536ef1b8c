// Synchronisation for tests without fixed sleeps: wait on a condition or an event, with a hang guard
// that only turns a hang into a clear failure (it measures no speed). Runtime-neutral: no node: import.

/** How long a wait may take before the test fails as hung; far above any healthy run on a busy machine. */
export const HANG_GUARD_MS = 10_000

const POLL_MS = 10

/**
 * Polls `condition` until it holds; fails with `what` if it still does not after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitFor(() => store.writes > before, 'the purge was written')
 * ```
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/**
 * Settles as `promise` does, or rejects naming `what` if it has not settled within `timeoutMs`.
 *
 * @example
 * ```ts
 * const error = await hangGuard(store.load(id).catch((e: unknown) => e), 'the load')
 * ```
 */
export function hangGuard<T>(promise: Promise<T>, what: string, timeoutMs = HANG_GUARD_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what} did not settle within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

/** A point a handler waits at until the test opens it; `reached` tells the test the handler got there. */
export interface Gate {
  /** Resolves once `open()` is called. */
  readonly wait: Promise<void>
  open(): void
  /** Resolves once `arrive()` is called. */
  readonly reached: Promise<void>
  arrive(): void
  /** `arrive()`, then `wait`: what a handler calls to stop at the gate. */
  pass(): Promise<void>
}

/**
 * Makes a {@link Gate}.
 *
 * @example
 * ```ts
 * const slow = gate()
 * app.post('/slow', async (c) => { await slow.pass(); return c.text('ok') })
 * const pending = fetch(url)
 * await slow.reached
 * slow.open()
 * ```
 */
export function gate(): Gate {
  let open!: () => void
  let arrive!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  const reached = new Promise<void>((resolve) => (arrive = resolve))
  return {
    wait,
    open,
    reached,
    arrive,
    pass: () => {
      arrive()
      return wait
    },
  }
}
