/**
 * The scale-out suite's load: simulated users, each with its own cookie per stack, doing login,
 * writes (a counter), reads, renew, logout and "sign out my other sessions" against the app
 * instances in turn (round robin), at a bounded rate, with at most one request in flight per user.
 * It keeps what was acknowledged, so that afterwards {@link Load.verify} can tell a lost session, a
 * lost acknowledged increment, and a logged-out or renewed-away cookie that works again.
 *
 * @module
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

/**
 * One request's outcome.
 *
 * @example
 * ```ts
 * const failed = load.outcomes('nr').filter((outcome: Outcome) => !outcome.ok)
 * ```
 */
export interface Outcome {
  /** When it was sent, epoch ms. */
  readonly at: number
  readonly op: Op
  /** Answered 2xx. */
  readonly ok: boolean
  /** How long it took, ms. */
  readonly ms: number
}

type Op = 'login' | 'inc' | 'me' | 'renew' | 'logout' | 'revoke-others'

interface User {
  readonly name: string
  cookie: string | undefined
  /** Logged in, as far as acknowledged replies tell. */
  loggedIn: boolean
  /** Whether the session's existence is known: false after a renew or logout that failed (it may have happened). */
  certain: boolean
  /** The counter's last acknowledged value. */
  acked: number
  /** Increments sent since that failed: each may or may not have landed. */
  unsure: number
  busy: boolean
  /** The last few requests, for the message of a failed check: when (epoch ms), what, the status, and the reply. */
  history: string[]
}

/**
 * What one stack's verification found.
 *
 * @example
 * ```ts
 * const verdict: Verdict = await load.verify('nr')
 * ```
 */
export interface Verdict {
  /** Users whose session (every call since login acknowledged) is gone or not theirs. */
  readonly lostSessions: number
  /** Sessions whose counter is below its last acknowledged value. */
  readonly lostWrites: number
  /** Sessions whose counter is above what was sent (acknowledged or not): writes from nowhere. */
  readonly extraWrites: number
  /** Acknowledged logouts whose cookie loads a session again. */
  readonly resurrected: number
  /** Acknowledged renews whose old cookie loads a session again. */
  readonly renewedAwayValid: number
  /** How many of each were checked. */
  readonly checked: { sessions: number; logouts: number; renews: number }
  /** Verification requests that failed (an app that does not answer). */
  readonly failedChecks: number
  /** A few of the users whose check failed, with their last requests. */
  readonly examples: string[]
}

/** A cookie retired by an acknowledged logout or renew, and how it came to be. */
interface Retired {
  readonly cookie: string
  readonly user: string
  readonly history: string
}

/** Per stack: its users and what happened to their requests. */
class StackState {
  readonly users: User[]
  readonly outcomes: Outcome[] = []
  /** Cookies an acknowledged logout or renew retired, with the user's requests up to then. */
  readonly loggedOut: Retired[] = []
  readonly renewedAway: Retired[] = []
  constructor(
    readonly name: string,
    users: number,
  ) {
    this.users = Array.from({ length: users }, (_, i) => ({
      name: `${name}-u${i}`,
      cookie: undefined,
      loggedIn: false,
      certain: true,
      acked: 0,
      unsure: 0,
      busy: false,
      history: [],
    }))
  }
}

interface Reply {
  status: number
  body: string
  setCookie: string | undefined
}

/** Picks a logged-in user's next action: mostly writes and reads, with renews, logouts and revokes. */
function nextOp(user: User): Op {
  if (!user.loggedIn) return 'login'
  const roll = Math.random()
  if (roll < 0.5) return 'inc'
  if (roll < 0.65) return 'me'
  if (roll < 0.78) return 'renew'
  if (roll < 0.92) return 'logout'
  return 'revoke-others'
}

/**
 * Load on some stacks of the app instances on `ports`. `start()` begins sending `rate` requests a
 * second in all (spread over the stacks and their idle users); `stop()` stops and waits for the
 * requests in flight.
 *
 * @example
 * ```ts
 * const load = new Load(appPorts, ['nr', 'io'], 300, 200)
 * load.start(); …; await load.stop()
 * const verdict = await load.verify('nr')
 * ```
 */
export class Load {
  readonly #ports: number[]
  readonly #agents: Agent[]
  readonly #stacks = new Map<string, StackState>()
  readonly #rate: number
  #next = 0
  #timer: ReturnType<typeof setInterval> | undefined
  #looping = false
  readonly #inFlight = new Set<Promise<void>>()

  constructor(ports: number[], stacks: string[], usersPerStack: number, rate: number) {
    this.#ports = ports
    this.#agents = ports.map(() => new Agent({ keepAlive: true, maxSockets: 64 }))
    for (const stack of stacks) this.#stacks.set(stack, new StackState(stack, usersPerStack))
    this.#rate = rate
  }

  /** One request to the next app instance in turn (or to `port`); never rejects. */
  send(stack: string, path: string, method: 'GET' | 'POST', cookie: string | undefined, port?: number): Promise<Reply> {
    const index = port === undefined ? this.#next++ % this.#ports.length : this.#ports.indexOf(port)
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#ports[index],
          agent: this.#agents[index],
          method,
          path: `/${stack}/${path}`,
          headers: cookie === undefined ? {} : { cookie },
          timeout: 10_000,
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie']?.[0] }))
          res.on('error', () => resolve({ status: 0, body: '', setCookie: undefined }))
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => resolve({ status: 0, body: '', setCookie: undefined }))
      req.end()
    })
  }

  /** Starts sending; the rate is spread over ticks of 20 ms. */
  start(): void {
    if (this.#timer !== undefined) return
    const perTick = this.#rate / 50
    let owed = 0
    this.#timer = setInterval(() => {
      owed += perTick
      const stacks = [...this.#stacks.values()]
      for (; owed >= 1; owed--) {
        const stack = stacks[Math.floor(Math.random() * stacks.length)] as StackState
        const idle = stack.users.filter((user) => !user.busy)
        const user = idle[Math.floor(Math.random() * idle.length)]
        if (user === undefined) continue
        const running = this.#act(stack, user)
        this.#inFlight.add(running)
        void running.finally(() => this.#inFlight.delete(running))
      }
    }, 20)
  }

  /**
   * Starts sending as fast as the app answers instead: every user sends its next request as soon
   * as the last one is answered (as many requests in flight as users), until `stop()`.
   */
  startClosedLoop(): void {
    if (this.#timer !== undefined || this.#looping) return
    this.#looping = true
    for (const stack of this.#stacks.values()) {
      for (const user of stack.users) {
        const running = (async () => {
          while (this.#looping) await this.#act(stack, user)
        })()
        this.#inFlight.add(running)
        void running.finally(() => this.#inFlight.delete(running))
      }
    }
  }

  /** Stops sending and waits for every request in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#looping = false
    await Promise.all([...this.#inFlight])
  }

  /** Every outcome of `stack` so far. */
  outcomes(stack: string): readonly Outcome[] {
    return this.#state(stack).outcomes
  }

  /** Forgets the outcomes and the cookies already checked (a new phase starts). */
  resetPhase(): void {
    for (const stack of this.#stacks.values()) {
      stack.outcomes.length = 0
      stack.loggedOut.length = 0
      stack.renewedAway.length = 0
    }
  }

  /** Closes the keep-alive connections. */
  close(): void {
    for (const agent of this.#agents) agent.destroy()
  }

  #state(stack: string): StackState {
    const state = this.#stacks.get(stack)
    if (state === undefined) throw new Error(`no stack ${stack}`)
    return state
  }

  async #act(stack: StackState, user: User): Promise<void> {
    user.busy = true
    const op = nextOp(user)
    const at = Date.now()
    const started = performance.now()
    const path = op === 'login' ? `login?user=${user.name}` : op
    const reply = await this.send(stack.name, path, op === 'me' ? 'GET' : 'POST', user.cookie)
    const ok = reply.status >= 200 && reply.status < 300
    stack.outcomes.push({ at, op, ok, ms: performance.now() - started })
    user.history.push(`${at} ${op} ${reply.status} ${JSON.stringify(reply.body.slice(0, 20))}${reply.setCookie === undefined ? '' : ' set-cookie'}`)
    if (user.history.length > 8) user.history.shift()
    const cookie = reply.setCookie?.split(';')[0]
    const cleared = cookie !== undefined && (cookie.endsWith('=') || /max-age=0/i.test(reply.setCookie ?? ''))
    switch (op) {
      case 'login':
        if (ok && cookie !== undefined && !cleared) Object.assign(user, { cookie, loggedIn: true, certain: true, acked: 0, unsure: 0 })
        break
      case 'inc':
        if (ok) Object.assign(user, { acked: Number(reply.body), unsure: 0 })
        else user.unsure++
        break
      // A cookie is retired only when the reply says it was this user's session and the session was
      // certain: after a failed logout, a renew may meet no session and start a new one instead.
      case 'renew':
        if (ok && cookie !== undefined && user.cookie !== undefined) {
          if (user.certain && reply.body === user.name) stack.renewedAway.push({ cookie: user.cookie, user: user.name, history: user.history.join(' | ') })
          user.cookie = cookie
        } else if (!ok) user.certain = false
        break
      case 'logout':
        if (ok && user.cookie !== undefined) {
          if (user.certain && reply.body === user.name) stack.loggedOut.push({ cookie: user.cookie, user: user.name, history: user.history.join(' | ') })
          Object.assign(user, { cookie: undefined, loggedIn: false, certain: true })
        } else if (!ok) user.certain = false
        break
      case 'me':
      case 'revoke-others':
        break
    }
    user.busy = false
  }

  /**
   * Checks, with the load stopped, every logged-in user whose session is certain (its counter at
   * least the last acknowledged value, at most that plus the increments that failed since), and
   * every cookie an acknowledged logout or renew retired in this phase (no session any more).
   * Users whose session is uncertain start afresh (logged out).
   */
  async verify(stackName: string): Promise<Verdict> {
    const stack = this.#state(stackName)
    let lostSessions = 0
    let lostWrites = 0
    let extraWrites = 0
    let resurrected = 0
    let renewedAwayValid = 0
    let failedChecks = 0
    const examples: string[] = []
    const example = (user: User, found: string) => {
      if (examples.length < 3) examples.push(`${user.name} (acked ${user.acked}, unsure ${user.unsure}) found ${JSON.stringify(found)} after: ${user.history.join(' | ')}`)
    }
    const live = stack.users.filter((user) => user.loggedIn && user.certain && user.cookie !== undefined)
    await inBatches(live, 32, async (user) => {
      const reply = await this.send(stackName, 'me', 'GET', user.cookie)
      if (reply.status !== 200) return void failedChecks++
      const [name, n] = reply.body.split(' ')
      if (name !== user.name) lostSessions++
      else if (Number(n) < user.acked) lostWrites++
      else if (Number(n) > user.acked + user.unsure) extraWrites++
      else return
      example(user, reply.body)
    })
    const retired = async (cookies: Retired[], how: string) => {
      let valid = 0
      await inBatches(cookies, 32, async ({ cookie, user, history }) => {
        const reply = await this.send(stackName, 'me', 'GET', cookie)
        if (reply.status !== 200) failedChecks++
        else if (reply.body !== '-') {
          valid++
          if (examples.length < 6) examples.push(`${user}'s ${how} cookie found ${JSON.stringify(reply.body)} after: ${history}`)
        }
      })
      return valid
    }
    resurrected = await retired(stack.loggedOut, 'logged-out')
    renewedAwayValid = await retired(stack.renewedAway, 'renewed-away')
    for (const user of stack.users) {
      if (user.loggedIn && !user.certain) Object.assign(user, { cookie: undefined, loggedIn: false, certain: true })
    }
    return {
      lostSessions,
      lostWrites,
      extraWrites,
      resurrected,
      renewedAwayValid,
      checked: { sessions: live.length, logouts: stack.loggedOut.length, renews: stack.renewedAway.length },
      failedChecks,
      examples,
    }
  }
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}
