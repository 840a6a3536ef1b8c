import { waitFor as waitForCondition } from './wait.js'

/**
 * `waitFor` of ./wait.ts with the description first, as the cluster tests read best: polls
 * `condition` until it holds, or fails naming `what` after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitFor('the replica to take over', async () => (await role(port)) === 'master', 15_000)
 * ```
 */
export function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs?: number, _everyMs?: number): Promise<void> {
  return waitForCondition(condition, what, timeoutMs)
}
