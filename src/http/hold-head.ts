import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { HeadHolder, type HeadMethod, type HoldHooks, type InnerMethods, type Reporting } from './head-holder.js'

export type { HoldHooks } from './head-holder.js'

const HOLDER = Symbol('cloakroom.headHolder')
type Held = ServerResponse & { [HOLDER]?: HeadHolder }
const METHODS: HeadMethod[] = ['writeHead', 'flushHeaders', 'write', 'end']

// Made once for the process: a closure per response would give each response a shape of its own.
const WRAPPERS = Object.fromEntries(
  METHODS.map((name) => [name, function (this: Held, ...args: unknown[]) { return this[HOLDER]!.call(name, args) }]),
) as InnerMethods

function recordPipe(this: Held, source: Readable): void {
  ;(this[HOLDER]!.piped ??= []).push(source)
}

/** `headersSent`, `writableEnded` and `writableNeedDrain`: true while the holder says so, else what `proto` says. */
function gettersFor(proto: object): PropertyDescriptorMap {
  const reporting = (name: string, pick: (holder: HeadHolder) => boolean): PropertyDescriptor => ({
    configurable: true,
    get(this: Held): boolean {
      const holder = this[HOLDER]
      return (holder !== undefined && pick(holder)) || Boolean(Reflect.get(proto, name, this))
    },
  })
  return {
    headersSent: reporting('headersSent', (holder) => holder.headSent),
    writableEnded: reporting('writableEnded', (holder) => holder.ended),
    writableNeedDrain: reporting('writableNeedDrain', (holder) => holder.needDrain),
  }
}

// Per prototype a response comes with (Node's, a subclass's, each Express app's): a few per process.
const GETTERS = new WeakMap<object, Reporting>()
const FRONTS = new WeakMap<object, Reporting>()
const cached = <T>(map: WeakMap<object, T>, key: object, make: () => T): T => map.get(key) ?? map.set(key, make()).get(key)!

/** The prototypes put in front of `proto`: the wrappers, and the wrappers with the accessors for while it is held. */
function frontsFor(proto: object): Reporting {
  const passing = Object.assign(Object.create(proto) as object, WRAPPERS)
  return { passing, held: Object.create(passing, gettersFor(proto)) as object }
}

/** Two holders' hooks as one: both asked, the newer's commit first; a replacement ends the turn. */
function both(newer: HoldHooks, older: HoldHooks): HoldHooks {
  let holdNewer = false
  let holdOlder = false
  return {
    shouldHold() {
      holdNewer = newer.shouldHold()
      holdOlder = older.shouldHold()
      return holdNewer || holdOlder
    },
    beforeHead: async () => (holdNewer ? await newer.beforeHead() : null) ?? (holdOlder ? older.beforeHead() : null),
  }
}

/**
 * Makes sure nothing of a `ServerResponse` reaches the client before the session is committed.
 * Install it once per response, before the handler runs. At the handler's first head-sending call,
 * `hooks.shouldHold()` decides: false lets every call through; true queues them until
 * `hooks.beforeHead()` settles, then replays them or sends the replacement it resolved
 * ({@link HeadHolder} has the details). A second holder on the same response joins the first.
 *
 * Only this response changes, never Node's prototypes: its `writeHead`, `flushHeaders`, `write` and
 * `end` become shared wrappers that call through the methods they found (Node's, or those of a
 * middleware that wrapped them first, such as compression), and `headersSent`, `writableEnded` and
 * `writableNeedDrain` read true while held. Where they go is chosen for V8 (docs/design-notes.md):
 * on the response itself when it is still on its class's prototype, or on a prototype put in
 * front of the one a framework gave it (Express), where the accessors sit in a second prototype
 * that is in front only while the response is held. The methods are never taken away again: a
 * middleware that wrapped them later would lose its own.
 *
 * @example
 * ```ts
 * const session = engine.begin(req.headers.cookie)
 * holdResponseHead(res, {
 *   shouldHold: () => engine.pending(session),
 *   beforeHead: () => engine.commit(session, { status: res.statusCode, headers: nodeHeaderView(res) }),
 * })
 * next()
 * ```
 */
export function holdResponseHead(res: ServerResponse, hooks: HoldHooks): void {
  const held = res as Held
  const existing = held[HOLDER]
  if (existing !== undefined) {
    // Once the head is on its way, a commit can no longer ride on it.
    if (existing.state === 'undecided') existing.hooks = both(hooks, existing.hooks)
    return
  }
  const inner = { writeHead: res.writeHead, flushHeaders: res.flushHeaders, write: res.write, end: res.end } as InnerMethods
  const proto = Object.getPrototypeOf(res) as object
  res.on('pipe', recordPipe)
  if (proto === (res.constructor as { prototype?: unknown }).prototype) {
    // Responses that share a prototype share their shapes too: four own properties cost little, and
    // the getters wait until the response is held.
    held[HOLDER] = new HeadHolder(res, hooks, inner, GETTERS.get(proto) ?? cached(GETTERS, proto, () => ({ getters: gettersFor(proto) })))
    res.writeHead = WRAPPERS.writeHead as ServerResponse['writeHead']
    res.flushHeaders = WRAPPERS.flushHeaders as ServerResponse['flushHeaders']
    res.write = WRAPPERS.write as ServerResponse['write']
    res.end = WRAPPERS.end as ServerResponse['end']
    return
  }
  // Swapping the prototype made this response's shape its own: every property added now would copy
  // it again, and one prototype in front costs one copy. A method wrapped on the response itself
  // (compression mounted first) is wrapped where it is.
  const fronts = FRONTS.get(proto) ?? cached(FRONTS, proto, () => frontsFor(proto))
  held[HOLDER] = new HeadHolder(res, hooks, inner, fronts)
  for (const name of METHODS) if (Object.hasOwn(res, name)) (res as unknown as InnerMethods)[name] = WRAPPERS[name]
  Object.setPrototypeOf(res, (fronts as { passing: object }).passing)
}
