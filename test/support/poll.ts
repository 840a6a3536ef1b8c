/**
 * Polls `condition` every `everyMs` until it is true, or throws after `timeoutMs` naming `what`.
 * The tests' way to wait on a state change they cannot subscribe to, without a fixed sleep.
 *
 * @example
 * ```ts
 * await waitFor('the replica to take over', async () => (await role(port)) === 'master', 15_000)
 * ```
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
