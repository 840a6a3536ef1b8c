import { ServerResponse, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { writeWebResponse } from './send-response.js'

/**
 * What {@link holdResponseHead} asks of the session layer.
 */
export interface HoldHooks {
  /**
   * Asked once, at the handler's first head-sending call: false lets the response through untouched
   * (no promise, no queue), true holds it until {@link HoldHooks.beforeHead} settles.
   */
  shouldHold(): boolean
  /**
   * Runs once while the head is held. It may merge headers into the response (through `setHeader`
   * and friends) and resolve `null` to let the handler's reply go on, or resolve a `Response` that
   * replaces the whole reply. A rejection is answered like a replacement with an empty 500.
   */
  beforeHead(): Promise<Response | null>
}

type Method = (this: ServerResponse, ...args: unknown[]) => unknown
type Originals = Record<'writeHead' | 'flushHeaders' | 'write' | 'end', Method>

/** A head-sending call the handler made while the head was held, kept for replay. */
type HeldCall =
  | { kind: 'writeHead'; status: number; reason: string | undefined }
  | { kind: 'flushHeaders' }
  | { kind: 'write' | 'end'; args: unknown[] }

/**
 * `direct`: calls go to the captured methods (nothing to hold, or the replay is done).
 * `holding`: calls are queued while `beforeHead` runs. `replaced`: a replacement reply owns the
 * response and the handler's calls are swallowed.
 */
type State = 'idle' | 'direct' | 'holding' | 'replaced'

// The characters Node refuses in a status message (its checkInvalidHeaderChar).
const INVALID_REASON = /[^\t\x20-\x7e\x80-\xff]/

/**
 * Makes sure nothing of a `ServerResponse` reaches the client before the session is committed.
 * Install it once per response, before the handler runs.
 *
 * At the handler's first `writeHead`, `flushHeaders`, `write` or `end`, `hooks.shouldHold()` decides.
 * If false, every call passes straight through. If true, `writeHead`'s status, reason and headers are
 * folded into the response at once (a `set-cookie` there is appended, never replacing other lines),
 * that call and every later one are queued, and `hooks.beforeHead()` runs exactly once. While held,
 * `write` returns false (a piped source pauses instead of piling up in memory), and `headersSent`,
 * `writableEnded` and `writableNeedDrain` read as the handler would expect had the calls gone out.
 * When `beforeHead` resolves `null`, the queued calls are replayed in order and `'drain'` follows;
 * when it resolves a `Response`, that response is sent instead, later handler calls do nothing, and
 * a stream piped into `res` is unpiped and destroyed. A throw during the replay destroys the socket.
 *
 * The wrapped methods are never restored: middleware such as compression may have wrapped them in
 * turn, and putting ours back would silently drop theirs.
 */
export function holdResponseHead(res: ServerResponse, hooks: HoldHooks): void {
  const reported: Reported = { headSent: false, ended: false, needDrain: false, previous: undefined }
  if (prototypeDispatches(res)) {
    // The common case: one data property on the response and no wrapper of our own. Own methods or
    // getters on a ServerResponse made Node's and Express's hot paths 10-15 µs slower a response
    // (measured on Express 5), and so did a WeakMap from responses to state that closes over them
    // (the garbage collector's ephemeron work), held or not.
    ;(res as Held)[HELD] = { hooks, reported, holder: undefined, direct: false, reporting: false, piped: undefined }
    res.on('pipe', recordPipe)
    return
  }
  // A response whose methods someone already replaced on the instance (compression mounted first,
  // a second holder, a subclass that overrides them): wrap the instance's own methods.
  let piped: Set<Readable> | undefined
  res.on('pipe', (source: Readable) => {
    ;(piped ??= new Set()).add(source)
  })
  const original: Originals = {
    writeHead: res.writeHead as unknown as Method,
    flushHeaders: res.flushHeaders as unknown as Method,
    write: res.write as unknown as Method,
    end: res.end as unknown as Method,
  }
  const holder = createHolder(res, hooks, original, {
    reported,
    startHolding: false,
    onHold: () => report(res as Reporting, reported),
    pipedSources: () => piped,
  })
  res.writeHead = holder.writeHead as unknown as ServerResponse['writeHead']
  res.flushHeaders = holder.flushHeaders as unknown as ServerResponse['flushHeaders']
  res.write = holder.write as unknown as ServerResponse['write']
  res.end = holder.end as unknown as ServerResponse['end']
}

/** How a holder learns of its surroundings: which getters to feed, and which streams were piped in. */
interface HolderOptions {
  reported: Reported
  /** True when the decision to hold was already taken (prototype dispatch asks `shouldHold` itself). */
  startHolding: boolean
  /** Called once, when the response starts to be held: make the getters read `reported`. */
  onHold(): void
  pipedSources(): Set<Readable> | undefined
}

type HeadMethods = Record<'writeHead' | 'flushHeaders' | 'write' | 'end', Method>

/** The holding logic for one response: what its writeHead, flushHeaders, write and end do. */
function createHolder(res: ServerResponse, hooks: HoldHooks, original: Originals, options: HolderOptions): HeadMethods {
  const { reported } = options
  let state: State = 'idle'
  let queue: HeldCall[] = []
  // True while our own replacement reply runs through the original methods: Node's write/end call
  // `this.writeHead` (our wrapper) from inside, and that call must go through.
  let internal = false
  let backpressure = false
  let started = false

  /** At the first head-sending call: true when this response is to be held. */
  function decide(): boolean {
    if (hooks.shouldHold()) {
      state = 'holding'
      // Untouched responses keep Node's getters: shadowing them is the one costly step here.
      options.onHold()
      return true
    }
    state = 'direct'
    return false
  }

  function commit(): void {
    let pending: Promise<Response | null>
    try {
      pending = hooks.beforeHead()
    } catch (error) {
      pending = Promise.reject(error)
    }
    Promise.resolve(pending).then(
      (replacement) => (replacement === null ? replay() : replace(replacement)),
      () => replace(new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } })),
    ).catch(() => res.destroy())
  }

  function replay(): void {
    state = 'direct'
    reported.needDrain = false
    const calls = queue
    queue = []
    try {
      for (const call of calls) {
        if (call.kind === 'writeHead') {
          if (call.reason === undefined) original.writeHead.call(res, call.status)
          else original.writeHead.call(res, call.status, call.reason)
        } else if (call.kind === 'flushHeaders') {
          original.flushHeaders.call(res)
        } else {
          original[call.kind].apply(res, call.args)
        }
      }
    } catch {
      // A second head, a bad header added meanwhile...: the reply cannot be sent as asked, and the
      // handler is long gone from this stack, so the connection is the only thing left to end.
      res.destroy()
      return
    }
    // If the socket itself is full, Node emits 'drain' when it empties; otherwise the writer that
    // we told to wait must hear it from us.
    if (backpressure && !res.writableEnded && !res.destroyed && !res.writableNeedDrain) res.emit('drain')
  }

  function replace(response: Response): void {
    state = 'replaced'
    reported.needDrain = false
    const discarded = queue
    queue = []
    const piped = options.pipedSources()
    const sources = piped === undefined ? [] : [...piped]
    for (const source of sources) source.unpipe(res)
    const ours = (method: 'write' | 'end') => (chunk?: Uint8Array): boolean => {
      internal = true
      try {
        return original[method].apply(res, chunk === undefined ? [] : [chunk]) !== false
      } finally {
        internal = false
      }
    }
    let sending: Promise<void>
    try {
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      sending = writeWebResponse(res, response, { write: ours('write'), end: ours('end') })
    } catch (error) {
      sending = Promise.reject(error)
    }
    sending
      .catch(() => res.destroy())
      .finally(() => {
        // Destroyed only now: a pipeline() would answer the source's early close by destroying `res`
        // and cutting the replacement short.
        for (const source of sources) source.destroy()
        for (const call of discarded) if (call.kind === 'write' || call.kind === 'end') callbackOf(call.args)?.()
      })
      .catch(() => undefined)
  }

  /** Queues a call; the first one queued starts the commit. */
  function hold(call: HeldCall): void {
    queue.push(call)
    reported.headSent = true
    if (!started) {
      started = true
      commit()
    }
  }

  function writeHead(this: ServerResponse, ...args: unknown[]): unknown {
    if (state === 'direct' || (state === 'replaced' && internal)) return original.writeHead.apply(this, args)
    if (state === 'replaced') {
      reported.headSent = true
      return this
    }
    if (state === 'idle' && !decide()) return original.writeHead.apply(this, args)
    if (reported.headSent) {
      // Wrappers that test `_header` (still unset while we hold) send an implicit head again.
      if (args.length <= 1 && (args[0] === undefined || Number(args[0]) === res.statusCode)) return this
      throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client')
    }
    hold({ kind: 'writeHead', ...foldWriteHead(res, args) })
    return this
  }

  function flushHeaders(this: ServerResponse, ...args: unknown[]): unknown {
    if (state === 'direct' || (state === 'replaced' && internal)) return original.flushHeaders.apply(this, args)
    if (state === 'replaced') {
      reported.headSent = true
      return undefined
    }
    if (state === 'idle' && !decide()) return original.flushHeaders.apply(this, args)
    hold({ kind: 'flushHeaders' })
    return undefined
  }

  function write(this: ServerResponse, ...args: unknown[]): unknown {
    if (state === 'direct' || (state === 'replaced' && internal)) return original.write.apply(this, args)
    if (state !== 'replaced') {
      if (state === 'idle' && !decide()) return original.write.apply(this, args)
      checkChunk(args[0])
      hold({ kind: 'write', args })
      backpressure = true
      reported.needDrain = true
      return false
    }
    // Replaced: the handler's bytes go nowhere, but its callbacks and loops must not hang.
    reported.headSent = true
    const callback = callbackOf(args)
    if (callback !== undefined) process.nextTick(callback)
    return true
  }

  function end(this: ServerResponse, ...args: unknown[]): unknown {
    if (state === 'direct' || (state === 'replaced' && internal)) return original.end.apply(this, args)
    if (state !== 'replaced') {
      if (state === 'idle' && !decide()) return original.end.apply(this, args)
      if (typeof args[0] !== 'function' && args[0] !== undefined && args[0] !== null) checkChunk(args[0])
      hold({ kind: 'end', args })
      reported.ended = true
      return this
    }
    reported.headSent = true
    reported.ended = true
    const callback = callbackOf(args)
    if (callback !== undefined) process.nextTick(callback)
    return this
  }

  if (options.startHolding) {
    state = 'holding'
    options.onHold()
  }
  return { writeHead, flushHeaders, write, end } as HeadMethods
}

// --- prototype dispatch ----------------------------------------------------------------------

/** A response held through the prototype's methods. */
interface Entry {
  hooks: HoldHooks
  reported: Reported
  /** Built at the first head-sending call, and only if the response is to be held. */
  holder: HeadMethods | undefined
  /** Decided not to hold: every call goes straight to Node. */
  direct: boolean
  /** The getters read `reported` (the response is held). */
  reporting: boolean
  piped: Set<Readable> | undefined
}

const HELD = Symbol('cloakroom.held')
type Held = ServerResponse & { [HELD]?: Entry }
const METHODS = ['writeHead', 'flushHeaders', 'write', 'end'] as const
let dispatchers: HeadMethods | undefined

function recordPipe(this: ServerResponse, source: Readable): void {
  const entry = (this as Held)[HELD]
  if (entry !== undefined) (entry.piped ??= new Set()).add(source)
}

/**
 * Replaces `ServerResponse.prototype`'s writeHead, flushHeaders, write and end (and the three
 * getters a handler consults) once, the first time a response is held, with functions that read the
 * response's state from a symbol-keyed property and go straight to Node's own when it has none.
 * Every other response in the process pays one property lookup per call.
 */
function patchPrototype(): HeadMethods {
  if (dispatchers !== undefined) return dispatchers
  const prototype = ServerResponse.prototype as unknown as Record<string, Method>
  const original = Object.fromEntries(METHODS.map((name) => [name, prototype[name]!])) as Originals
  const made = {} as HeadMethods
  for (const name of METHODS) {
    const node = original[name]
    made[name] = function (this: ServerResponse, ...args: unknown[]): unknown {
      const entry = (this as Held)[HELD]
      if (entry === undefined || entry.direct) return node.apply(this, args)
      let holder = entry.holder
      if (holder === undefined) {
        if (!entry.hooks.shouldHold()) {
          entry.direct = true
          return node.apply(this, args)
        }
        holder = entry.holder = createHolder(this, entry.hooks, original, {
          reported: entry.reported,
          startHolding: true,
          onHold: () => void (entry.reporting = true),
          pipedSources: () => entry.piped,
        })
      }
      return holder[name].apply(this, args)
    }
    prototype[name] = made[name]
  }
  for (const [name, pick] of [
    ['headersSent', (r: Reported) => r.headSent],
    ['writableEnded', (r: Reported) => r.ended],
    ['writableNeedDrain', (r: Reported) => r.needDrain],
  ] as const) {
    const inherited = inheritedGetter(ServerResponse.prototype as ServerResponse, name)
    Object.defineProperty(ServerResponse.prototype, name, {
      configurable: true,
      enumerable: false,
      get(this: ServerResponse): boolean {
        const entry = (this as Held)[HELD]
        if (entry !== undefined && entry.reporting && pick(entry.reported)) return true
        return Boolean(inherited.call(this))
      },
    })
  }
  dispatchers = made
  return made
}

/** Whether `res` reaches the prototype's methods (and is not held by us already). */
function prototypeDispatches(res: ServerResponse): boolean {
  if (!(res instanceof ServerResponse) || (res as Held)[HELD] !== undefined) return false
  const methods = patchPrototype()
  return res.writeHead === methods.writeHead && res.write === methods.write && res.end === methods.end && res.flushHeaders === methods.flushHeaders
}

/**
 * Applies `writeHead(status, [reason], [headers])` to the response now, as Node would, so the
 * commit sees (and merges into) the handler's headers; returns what the replay must repeat.
 */
function foldWriteHead(res: ServerResponse, args: unknown[]): { status: number; reason: string | undefined } {
  const [statusArg, reasonArg, headersArg] = args
  const status = Number(statusArg) | 0
  if (status < 100 || status > 999) {
    throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${String(statusArg)}`)
  }
  const reason = typeof reasonArg === 'string' ? reasonArg : undefined
  if (reason !== undefined && INVALID_REASON.test(reason)) {
    throw nodeError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage')
  }
  const headers = reason === undefined ? (headersArg ?? reasonArg) : headersArg
  res.statusCode = status
  if (reason !== undefined) res.statusMessage = reason
  if (headers !== undefined && headers !== null) foldHeaders(res, headers as OutgoingHttpHeaders | OutgoingHttpHeader[])
  return { status, reason }
}

/**
 * `writeHead`'s headers replace same-named ones, except that `set-cookie` lines are added: the
 * handler's own cookies must survive next to the session's. A list (flat or pairs) may repeat a
 * name on purpose, so its lines are appended after the first replaces.
 */
function foldHeaders(res: ServerResponse, headers: OutgoingHttpHeaders | OutgoingHttpHeader[]): void {
  if (!Array.isArray(headers)) {
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      if (name === '') continue
      if (name.toLowerCase() === 'set-cookie') res.appendHeader(name, headerValue(value))
      else res.setHeader(name, value as OutgoingHttpHeader)
    }
    return
  }
  const replaced = new Set<string>()
  for (const [name, value] of headerPairs(headers)) {
    if (name === '') continue
    const key = name.toLowerCase()
    if (key !== 'set-cookie' && !replaced.has(key)) {
      replaced.add(key)
      res.removeHeader(name)
    }
    res.appendHeader(name, headerValue(value))
  }
}

/** `[k, v, k, v]` or `[[k, v], [k, v]]` as pairs. */
function headerPairs(list: readonly unknown[]): [string, unknown][] {
  if (list.length > 0 && Array.isArray(list[0])) {
    return (list as unknown[][]).map((pair) => [String(pair[0] ?? ''), pair[1]])
  }
  if (list.length % 2 !== 0) throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'headers' is invalid")
  const pairs: [string, unknown][] = []
  for (let i = 0; i < list.length; i += 2) pairs.push([String(list[i] ?? ''), list[i + 1]])
  return pairs
}

/** `appendHeader` takes strings; `setHeader` also numbers, which `writeHead` passes through. */
function headerValue(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.map(String)
  // undefined stays undefined so that Node rejects it with its own error.
  return (typeof value === 'number' ? String(value) : value) as string
}

/** Refuses at once what Node's `write` would refuse, instead of failing later inside the replay. */
function checkChunk(chunk: unknown): void {
  if (chunk === null) throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream')
  if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array')
  }
}

function callbackOf(args: readonly unknown[]): (() => void) | undefined {
  const last = args.findLast((arg) => typeof arg === 'function')
  return last as (() => void) | undefined
}

function nodeError(Kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, code: string, message: string): Error {
  return Object.assign(new Kind(message), { code })
}

/**
 * What the shadowed getters add to Node's answer for one holder. Several holders on one response
 * (two session managers, say) are chained, and any one of them holding makes the getter read true.
 */
interface Reported {
  headSent: boolean
  ended: boolean
  needDrain: boolean
  previous: Reported | undefined
}

const REPORTED = Symbol('cloakroom.heldHead')
type Reporting = ServerResponse & { [REPORTED]?: Reported }

/**
 * One getter function per name, shared by every response: V8 keys an object's shape on its
 * accessors' identity, so a fresh closure per response would give each one a shape of its own and
 * turn Node's hot paths megamorphic (about 28 µs per response, measured).
 */
function sharedGetter(name: 'headersSent' | 'writableEnded' | 'writableNeedDrain', pick: (r: Reported) => boolean): PropertyDescriptor {
  let inherited: ((this: ServerResponse) => unknown) | undefined
  return {
    configurable: true,
    enumerable: false,
    get(this: Reporting): boolean {
      for (let r = this[REPORTED]; r !== undefined; r = r.previous) if (pick(r)) return true
      inherited ??= inheritedGetter(this, name)
      return Boolean(inherited.call(this))
    },
  }
}

const GETTERS = {
  headersSent: sharedGetter('headersSent', (r) => r.headSent),
  writableEnded: sharedGetter('writableEnded', (r) => r.ended),
  writableNeedDrain: sharedGetter('writableNeedDrain', (r) => r.needDrain),
}

/** Node's own getter (from the prototype chain) that ours falls back to. */
function inheritedGetter(res: ServerResponse, name: string): (this: ServerResponse) => unknown {
  for (let owner = Object.getPrototypeOf(res) as object | null; owner !== null; owner = Object.getPrototypeOf(owner) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(owner, name)
    if (descriptor?.get !== undefined) return descriptor.get
    if (descriptor !== undefined) return () => descriptor.value
  }
  return () => false
}

/** Makes the response's getters include `reported`, shadowing Node's on first use. */
function report(res: Reporting, reported: Reported): void {
  reported.previous = res[REPORTED]
  if (reported.previous === undefined) Object.defineProperties(res, GETTERS)
  res[REPORTED] = reported
}
