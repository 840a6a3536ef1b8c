import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { callbackOf, checkChunk, foldWriteHead, writeHeadAgain } from './node-compat.js'
import { serverErrorResponse } from '../core/response-headers.js'
import { writeWebResponse } from './send-response.js'

/**
 * What {@link HeadHolder} asks of the session layer.
 *
 * @example
 * ```ts
 * const hooks: HoldHooks = {
 *   shouldHold: () => engine.pending(session),
 *   beforeHead: () => engine.commit(session, { status: res.statusCode, headers: nodeHeaderView(res) }),
 * }
 * ```
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

/**
 * How a held response reports its holder's state through `headersSent`, `writableEnded` and
 * `writableNeedDrain` (accessors that read the holder first): `getters` are defined on the response
 * itself when it is held, and stay; `held` is a prototype to put in front while it is held, and
 * `passing` the one it goes back to when the queued calls have gone out, so that a response that is
 * not held (or no longer) pays nothing for them: Node reads these properties often.
 */
export type Reporting = { readonly getters: PropertyDescriptorMap } | { readonly held: object; readonly passing: object }

function reportHeld(res: ServerResponse, reporting: Reporting): void {
  if ('held' in reporting && Object.getPrototypeOf(res) === reporting.passing) Object.setPrototypeOf(res, reporting.held)
  // Someone put another prototype in front since (an Express sub-app does, until it is left): ours on the response itself.
  else Object.defineProperties(res, 'held' in reporting ? gettersOf(reporting.held) : reporting.getters)
}

function reportPassing(res: ServerResponse, reporting: Reporting): void {
  if ('held' in reporting && Object.getPrototypeOf(res) === reporting.held) Object.setPrototypeOf(res, reporting.passing)
}

function gettersOf(prototype: object): PropertyDescriptorMap {
  return Object.getOwnPropertyDescriptors(prototype)
}

/** The calls that send (part of) a response's head. */
export type HeadMethod = 'writeHead' | 'flushHeaders' | 'write' | 'end'

/** The methods a holder passes calls on to: Node's, or whatever wrapped them before the holder came. */
export type InnerMethods = Record<HeadMethod, (this: ServerResponse, ...args: unknown[]) => unknown>

/**
 * The state machine behind one held response; {@link HeadHolder.call} receives the handler's every
 * `writeHead`, `flushHeaders`, `write` and `end`.
 *
 * - `undecided`: at the first call, `shouldHold()` picks `passing` or `holding`.
 * - `passing`: calls go to the inner methods.
 * - `holding`: calls are queued (`writeHead`'s status and headers folded into the response at once),
 *   `write` answers false so a piped source pauses, and `beforeHead()` runs; then the queue is
 *   replayed (`passing`, with a `'drain'`), or a replacement reply is sent (`replaced`).
 * - `replaced`: the handler's calls are swallowed; their callbacks still run.
 *
 * `headSent`, `ended` and `needDrain` are what `headersSent`, `writableEnded` and `writableNeedDrain`
 * must read while the calls wait: what the handler would see had they gone out.
 *
 * @example
 * ```ts
 * const { writeHead, flushHeaders, write, end } = res
 * const holder = new HeadHolder(res, hooks, { writeHead, flushHeaders, write, end } as InnerMethods, undefined)
 * res.end = (...args: unknown[]) => holder.call('end', args) as ServerResponse
 * ```
 */
export class HeadHolder {
  state: 'undecided' | 'passing' | 'holding' | 'replaced' = 'undecided'
  headSent = false
  ended = false
  needDrain = false
  /** Streams piped into the response (from its `'pipe'` events): a replacement unpipes and destroys them. */
  piped: Readable[] | undefined
  #queue: [HeadMethod, unknown[]][] | undefined
  #backpressure = false

  constructor(
    readonly res: ServerResponse,
    public hooks: HoldHooks,
    readonly inner: InnerMethods,
    /** How the response comes to report this holder's state once it is held. */
    readonly reporting: Reporting,
  ) {}

  call(name: HeadMethod, args: unknown[]): unknown {
    if (this.state === 'undecided') {
      this.state = this.hooks.shouldHold() ? 'holding' : 'passing'
      if (this.state === 'holding') reportHeld(this.res, this.reporting)
    }
    if (this.state === 'passing') return this.inner[name].apply(this.res, args)
    if (this.state === 'holding') return this.#hold(name, args)
    // Replaced: the handler's bytes go nowhere, but its callbacks and loops must not hang.
    this.headSent = true
    if (name === 'end') this.ended = true
    const callback = callbackOf(args)
    if (callback !== undefined) process.nextTick(callback)
    return name === 'write' ? true : name === 'flushHeaders' ? undefined : this.res
  }

  #hold(name: HeadMethod, args: unknown[]): unknown {
    let result: unknown = this.res
    if (name === 'writeHead') {
      if (this.headSent) return writeHeadAgain(this.res, args)
      args = foldWriteHead(this.res, args)
    } else if (name === 'write') {
      checkChunk(args[0])
      this.#backpressure = this.needDrain = true
      result = false
    } else if (name === 'end') {
      checkChunk(args[0], true)
      this.ended = true
    } else {
      result = undefined
    }
    this.headSent = true
    // The first call queued starts the commit: the queue empties only when holding is over.
    if ((this.#queue ??= []).push([name, args]) === 1) {
      new Promise<Response | null>((resolve) => resolve(this.hooks.beforeHead()))
        .then(
          (replacement) => (replacement === null ? this.#replay() : this.#replace(replacement)),
          () => this.#replace(serverErrorResponse()),
        )
        .catch(() => this.res.destroy())
    }
    return result
  }

  #replay(): void {
    const { res } = this
    this.state = 'passing'
    this.needDrain = false
    const calls = this.#queue ?? []
    this.#queue = undefined
    try {
      for (const [name, args] of calls) this.inner[name].apply(res, args)
    } catch {
      // A second head, a bad header added meanwhile...: the reply cannot be sent as asked, and the
      // handler is long gone from this stack, so the connection is the only thing left to end.
      res.destroy()
      return
    }
    reportPassing(res, this.reporting)
    // A full socket emits 'drain' itself when it empties; otherwise the writer told to wait hears it from us.
    if (this.#backpressure && !res.writableEnded && !res.destroyed && !res.writableNeedDrain) res.emit('drain')
  }

  #replace(response: Response): void {
    const { res, inner } = this
    this.state = 'replaced'
    this.needDrain = false
    const discarded = this.#queue ?? []
    this.#queue = undefined
    const sources = this.piped ?? []
    for (const source of sources) source.unpipe(res)
    // Node's write and end call `this.writeHead` from inside: those calls must reach Node too.
    const through = (name: 'write' | 'end') => (chunk?: Uint8Array): boolean => {
      this.state = 'passing'
      try {
        return inner[name].apply(res, chunk === undefined ? [] : [chunk]) !== false
      } finally {
        this.state = 'replaced'
      }
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    writeWebResponse(res, response, { write: through('write'), end: through('end') })
      .catch(() => res.destroy())
      .finally(() => {
        // Destroyed only now: a pipeline() would answer the source's early close by destroying `res`
        // and cutting the replacement short.
        for (const source of sources) source.destroy()
        for (const [name, args] of discarded) if (name === 'write' || name === 'end') callbackOf(args)?.()
      })
      .catch(() => undefined)
  }
}
