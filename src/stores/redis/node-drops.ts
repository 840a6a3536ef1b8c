// How long after a cluster node's connection dropped a call that runs out of time is put down to
// the failover rather than to a slow Redis: a failover takes cluster-node-timeout plus an election.
const DROP_WINDOW_MS = 5000

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown
}

const trackers = new WeakMap<object, () => boolean>()

/**
 * Whether one of a cluster client's node connections dropped in the last 5 s, from the client's
 * own events (`events`: node-redis' `node-reconnecting`, ioredis' `-node` and `node error`). A call
 * to a master that died can run out of time after the client has already moved its slots to the
 * successor; it is still an outage (`unavailable`), not a slow server. One set of listeners per
 * client; a client without `on` never reports a drop.
 *
 * @example
 * ```ts
 * const dropped = nodeDrops(cluster, ['node-reconnecting'])
 * if (dropped()) kind = 'unavailable'
 * ```
 */
export function nodeDrops(client: object, events: readonly string[]): () => boolean {
  const found = trackers.get(client)
  if (found !== undefined) return found
  let droppedAt = -Infinity
  const emitter = client as Partial<Emitter>
  if (typeof emitter.on === 'function') {
    for (const event of events) emitter.on(event, () => void (droppedAt = Date.now()))
  }
  const recent = () => Date.now() - droppedAt < DROP_WINDOW_MS
  trackers.set(client, recent)
  return recent
}
