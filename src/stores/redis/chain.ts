import { StoreError } from '../../core/errors.js'
import type { RedisCommander } from './client.js'
import type { Deadline } from './errors.js'
import { evalScript } from './eval.js'
import { keyOfHash } from './keys.js'
import { deleteStep } from './replies.js'
import type { Filing } from './replies.js'
import { DELETE } from './scripts.js'

// Each renew within a minute of the last adds a hop to the chain a delete follows; an app renews on
// login or a change of privilege, so a real chain is a hop or two long.
const MAX_FORWARD_HOPS = 16

/**
 * What ending a chain did: `ended` with the ended record's filing (`null` when it was not filed) and
 * every key of the chain, or not ended (only with `expected`: the record is gone or filed
 * otherwise, and nothing changed).
 */
export type ChainEnd =
  | { readonly ended: true; readonly filed: Filing | null; readonly keys: readonly string[] }
  | { readonly ended: false }

/**
 * Ends the session at `key` and every id a renew forwarded it to within the last 60 s, leaving a
 * purge marker on each (the `delete` script). The script only touches keys it was given, so it
 * hands back the key a marker names and is called again with it, changing nothing until it has the
 * whole chain, then ending it all at once. With `expected` (a revoke), it ends the chain only if its
 * record is filed under that user and handle.
 */
export async function endChain(
  redis: RedisCommander,
  prefix: string,
  start: { key: string; tag: string },
  expected: Filing | undefined,
  remaining: Deadline,
): Promise<ChainEnd> {
  const chain = [start.key]
  const args = expected === undefined ? [] : [expected.userId, expected.handle]
  for (let calls = 0; calls <= MAX_FORWARD_HOPS; calls++) {
    const step = deleteStep(await evalScript(redis, DELETE, chain, args, remaining), chain.length)
    if (step.kind === 'ended') return { ended: true, filed: step.filed, keys: chain }
    if (step.kind === 'refused') {
      if (expected === undefined) throw new StoreError('backend', 'redis delete got a reply its script never gives')
      return { ended: false }
    }
    chain.splice(step.index, Infinity, keyOfHash(prefix, start.tag, step.hash))
  }
  throw new StoreError(
    'backend',
    `redis delete found more than ${MAX_FORWARD_HOPS} renews of one session within a minute; nothing was deleted`,
  )
}
