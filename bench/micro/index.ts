/**
 * Micro benchmarks of the hot paths, so a regression shows without a load test: seal/open
 * (AES-256-GCM), sign/verify (HMAC-SHA256), cookie parse and serialize, and one whole
 * begin → read → write → commit with the cookie and memory stores (plus an untouched request).
 * Run as `tsx bench/micro/index.ts [out.json]`; prints mitata's table and writes the numbers.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { parseCookie, stringifySetCookie } from 'cookie'
import { bench, do_not_optimize, group, run } from 'mitata'
import { CookieStore, createSessionManager, MemoryStore, type HeaderView, type SessionStore } from '../../dist/index.js'
import { readCookie, setCookieWriter } from '../../dist/cookie/session-cookie.js'
import { cryptoProvider } from '../../dist/crypto/node.js'
import { keyBytes } from '../../dist/crypto/keys.js'
import type { CookieSealer } from '../../dist/crypto/types.js'
import { SECRET } from '../servers/common.js'

/** One micro benchmark's result. */
export interface MicroResult {
  name: string
  /** Nanoseconds per call. */
  avgNs: number
  p50Ns: number
  p99Ns: number
}

const record = JSON.stringify({ data: { counter: 41, user: 'ada' }, createdAt: 1_767_225_600_000, absoluteExpiresAt: null, expiresAt: 1_767_312_000_000 })
// The cache off, so seal and open measure the cryptography; the cache hit is measured on its own.
const sealerOf = (mode: 'private' | 'signed', openedCache?: false): CookieSealer => {
  const sealer = cryptoProvider.createSealer({ keys: [keyBytes(SECRET)], mode, cookieName: 'id', ...(openedCache === false ? { openedCache } : {}) })
  if (sealer instanceof Promise) throw new Error('the node crypto provider is synchronous')
  return sealer
}
const privateSealer = sealerOf('private', false)
const signedSealer = sealerOf('signed', false)
const cachingSealer = sealerOf('private')
const sealed = privateSealer.seal(record) as string
const signed = signedSealer.seal(record) as string
const cachedValue = cachingSealer.seal(record) as string
const cookieHeader = `_ga=GA1.2.3.4; theme=dark; id=${sealed}; csrftoken=abcdef0123456789`
const writer = setCookieWriter({ name: 'id', secure: true, httpOnly: true, sameSite: 'lax', path: '/', domain: undefined, partitioned: false })

class Headers_ implements HeaderView {
  readonly lines = new Map<string, string>()
  get(name: string): string | null {
    return this.lines.get(name) ?? null
  }
  set(name: string, value: string): void {
    this.lines.set(name, value)
  }
  append(name: string, value: string): void {
    this.lines.set(name, value)
  }
}

async function commitSetup(store: SessionStore): Promise<{ manager: ReturnType<typeof createSessionManager>; cookie: string }> {
  const manager = createSessionManager({ store, keys: [SECRET], cookie: { secure: false } })
  const session = manager.begin(undefined)
  session.insert('counter', 1)
  const headers = new Headers_()
  await manager.commit(session, { status: 200, headers })
  const setCookie = headers.get('set-cookie') ?? ''
  return { manager, cookie: setCookie.split(';', 1)[0] ?? '' }
}
const cookieSetup = await commitSetup(new CookieStore())
const memorySetup = await commitSetup(new MemoryStore())

async function counterRequest(setup: { manager: ReturnType<typeof createSessionManager>; cookie: string }): Promise<void> {
  const session = setup.manager.begin(setup.cookie)
  const counter = (await session.get('counter')) as number
  session.insert('counter', counter + 1)
  await setup.manager.commit(session, { status: 200, headers: new Headers_() })
}

group('crypto', () => {
  bench('seal (AES-256-GCM)', () => privateSealer.seal(record))
  bench('open (AES-256-GCM)', () => privateSealer.open(sealed))
  bench('open, cookie cache hit', () => cachingSealer.open(cachedValue))
  bench('sign (HMAC-SHA256)', () => signedSealer.seal(record))
  bench('verify (HMAC-SHA256)', () => signedSealer.open(signed))
})
group('cookie', () => {
  bench('readCookie (lenient parse, 4 cookies)', () => readCookie(cookieHeader, 'id'))
  bench('cookie.parseCookie (4 cookies)', () => parseCookie(cookieHeader))
  bench('Set-Cookie line (precomputed attributes)', () => do_not_optimize(writer.session(sealed, undefined)))
  bench('cookie.stringifySetCookie', () => stringifySetCookie('id', sealed, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' }))
})
group('one request through the manager', () => {
  bench('untouched: begin + pending', () => do_not_optimize(cookieSetup.manager.pending(cookieSetup.manager.begin(cookieSetup.cookie))))
  bench('counter, cookie store: begin, get, insert, commit', () => counterRequest(cookieSetup))
  bench('counter, memory store: begin, get, insert, commit', () => counterRequest(memorySetup))
  bench('read, memory store: begin, get, commit', async () => {
    const session = memorySetup.manager.begin(memorySetup.cookie)
    do_not_optimize(await session.get('counter'))
    await memorySetup.manager.commit(session, { status: 200, headers: new Headers_() })
  })
})

const { benchmarks } = await run({ colors: false })
const results: MicroResult[] = benchmarks.flatMap((trial) =>
  trial.runs.flatMap((r) => (r.stats === undefined ? [] : [{ name: trial.alias, avgNs: r.stats.avg, p50Ns: r.stats.p50, p99Ns: r.stats.p99 }])),
)
if (process.argv[2] !== undefined) writeFileSync(process.argv[2], JSON.stringify(results, null, 1) + '\n')
