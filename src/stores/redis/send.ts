import type { RedisCommander } from './client.js'
import { transience } from './errors.js'
import type { Deadline } from './errors.js'

// A slot migration or a failover settles in tens of milliseconds to a few seconds: start short and
// double, but keep polling at least a few times a second so a call resumes soon after it settles.
const FIRST_PAUSE_MS = 10
const MAX_PAUSE_MS = 250

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Sends one command, and sends it again while Redis refuses it for a passing reason (`TRYAGAIN`
 * while a migration splits its keys, `CLUSTERDOWN` while a failover elects a new master, a `MOVED`
 * or `ASK` the driver gave up following, `LOADING`, `MASTERDOWN`, `READONLY`) and, when `replayable`,
 * also after a dropped connection (the command may have run once already). Retries pause 10 ms,
 * doubling up to 250 ms, and stop before the call's deadline; the last error is then what the call
 * reports (or, should the deadline strike during a pause, the refusal it was waiting out).
 *
 * @example
 * ```ts
 * const fields = await send(redis, 'HGETALL', [key], key, true, remaining)
 * ```
 */
export async function send(
  redis: RedisCommander,
  command: string,
  args: string[],
  key: string,
  readonly: boolean,
  remaining: Deadline,
  replayable = true,
): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    remaining.key = key
    try {
      const reply = await redis.send(command, args, key, readonly, remaining.at)
      remaining.retrying = undefined
      return reply
    } catch (error) {
      const kind = transience(error)
      if (kind === undefined || (kind === 'uncertain' && !replayable)) throw error
      const wait = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** attempt)
      // No retry that could not finish before the call gives up (nor one after it did).
      if (Date.now() + wait >= remaining.at) throw error
      remaining.retrying = error
      redis.trouble?.()
      await pause(wait)
    }
  }
}
