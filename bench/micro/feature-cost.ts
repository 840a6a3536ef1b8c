/**
 * What issue 13's features cost per request, in-process: a manager with no events, schema or flash
 * configured, built from today's `dist/` and from the commit before those features landed, side
 * by side in one process; then today's manager with events, OpenTelemetry (`cloakroom/otel`, with
 * and without an SDK), a schema, and flash when the build has it.
 *
 * A request is begin → read → write → commit through the manager (the cookie the response sets is
 * carried to the next request, as a browser would). Each case runs in batches of about 20 ms of
 * CPU; the cases take turns (rotated every round, so none always follows the same one), and a
 * round's batches of one row and of its group's first row are compared as a ratio. The report
 * gives each row's median CPU µs per request (user + system of the whole process, so load from
 * other processes inflates it less than wall time), the interquartile range, and the median of
 * the per-round ratios with their interquartile range: trust a difference only beyond that range.
 *
 * ```sh
 * npm run build && npx tsx bench/micro/feature-cost.ts [--base <commit>] [out.md]
 * ```
 *
 * `--base` defaults to the commit before the first lifecycle-events commit; `BENCH_ROUNDS` (25)
 * sets the rounds, `BENCH_CASES` (a regular expression on "group: row") picks cases. With
 * `--instructions`, each case runs instead in a process of its own under
 * `valgrind --tool=callgrind` and the report gives instructions per request (see
 * `instruction-count.ts`).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { Meter, Tracer } from '@opentelemetry/api'
import type * as Current from '../../dist/index.js'
import type * as OtelEntry from '../../dist/otel/index.js'
import { pathToFileURL } from 'node:url'
import { baseBuild } from './base-build.js'
import { SECRET } from '../servers/common.js'

type Lib = typeof Current
type Otel = typeof OtelEntry
type Manager = ReturnType<Lib['createSessionManager']>
type Session = ReturnType<Manager['begin']>
type Options = Parameters<Lib['createSessionManager']>[0]

/** The commit before issue 13's first change (lifecycle events). */
export const DEFAULT_BASE = '851ba8a729ecc523b646d0ddc9a496682c46da4e'

/** What a request does with its session. */
type Route = (session: Session) => Promise<void>

const ROUTES = {
  counter: async (session) => {
    const n = ((await session.get('counter')) as number | undefined) ?? 0
    session.insert('counter', n + 1)
  },
  read: async (session) => void (await session.get('counter')),
  untouched: async () => {},
  // A flash set on each request and taken on the next (the session has flash once it merged).
  flash: async (session) => {
    const flashing = session as unknown as { flash(key: string, value: string): void; takeFlash(key: string): Promise<unknown> }
    await flashing.takeFlash('notice')
    flashing.flash('notice', 'saved')
  },
} satisfies Record<string, Route>

/** One row: which build, what the manager is given, and (optionally) another request. */
export interface Variant {
  name: string
  build: 'base' | 'current'
  /** Extra manager options, and the store wrapped as the variant needs. */
  setup?: (store: Lib['MemoryStore']['prototype'], tools: Tools) => Promise<Partial<Options>> | Partial<Options>
  /** Replaces the group's route (flash). */
  route?: keyof typeof ROUTES
  /** Only for these routes. */
  routes?: (keyof typeof ROUTES)[]
  /** Skipped (with a note) unless the session has this method. */
  needs?: string
}

interface Tools {
  otel: Otel
  sdk: () => Promise<{ tracer: Tracer; meter: Meter }>
}

const counting = (): NonNullable<Options['events']> => {
  const seen = { n: 0 }
  const count = (): void => void seen.n++
  return { created: count, renewed: count, purged: count, expired: count, refused: count, storeError: count, conflict: count }
}

/** The rows of every group; the first is what the others are compared with. Add a row with one line. */
export const VARIANTS: Variant[] = [
  { name: 'before issue 13 (base build)', build: 'base' },
  { name: 'today, nothing configured', build: 'current' },
  { name: 'events: a listener on each of the 7', build: 'current', setup: () => ({ events: counting() }) },
  { name: 'otel(), no SDK registered (API no-ops)', build: 'current', setup: (store, { otel }) => otel.otel(store) },
  { name: 'otel(), SDK tracer + meter recording', build: 'current', setup: async (store, { otel, sdk }) => otel.otel(store, await sdk()) },
  { name: 'schema (Valibot, one key)', build: 'current', routes: ['counter', 'read'], setup: async () => ({ schema: { counter: (await import('valibot')).number() } }) },
  { name: 'flash + takeFlash each request', build: 'current', route: 'flash', routes: ['counter'], needs: 'takeFlash' },
]

/** The groups: a store and a route. */
export const GROUPS: { store: 'memory' | 'cookie'; route: keyof typeof ROUTES }[] = [
  { store: 'memory', route: 'counter' },
  { store: 'memory', route: 'read' },
  { store: 'memory', route: 'untouched' },
  { store: 'cookie', route: 'counter' },
]

class Lines {
  value: string | null = null
  get(): string | null {
    return null
  }
  set(): void {}
  append(_name: string, value: string): void {
    this.value = value
  }
}

/** A ready case: one request at a time, carrying its cookie. */
export interface Case {
  id: string
  group: string
  row: string
  request: () => Promise<void>
}

async function sdk(): Promise<{ tracer: Tracer; meter: Meter }> {
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics')
  // Spans are built, ended and handed to an exporter that drops them: the cost of recording, not of shipping.
  const discard = { export: (_spans: unknown, done: (result: { code: 0 }) => void) => done({ code: 0 }), shutdown: async () => {} }
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(discard)] }).getTracer('bench')
  class Idle extends MetricReader {
    protected override async onShutdown(): Promise<void> {}
    protected override async onForceFlush(): Promise<void> {}
  }
  const meter = new MeterProvider({ readers: [new Idle()] }).getMeter('bench')
  return { tracer, meter }
}

/**
 * Loads both builds and makes every case of {@link VARIANTS} × {@link GROUPS} (minus those
 * skipped), each with a signed-in session.
 *
 * @example
 * ```ts
 * const cases = await makeCases(DEFAULT_BASE, /memory/)
 * ```
 */
export async function makeCases(base: string, only: RegExp | undefined): Promise<{ cases: Case[]; notes: string[] }> {
  const current = (await import('../../dist/index.js')) as Lib
  const otel = (await import('../../dist/otel/index.js')) as Otel
  const old = (await import(pathToFileURL(`${baseBuild(base)}/index.js`).href)) as Lib
  const cases: Case[] = []
  const notes: string[] = []
  for (const group of GROUPS) {
    const groupName = `${group.store}, ${group.route}`
    for (const variant of VARIANTS) {
      if (variant.routes !== undefined && !variant.routes.includes(group.route)) continue
      const id = `${groupName}: ${variant.name}`
      if (only !== undefined && !only.test(id)) continue
      const lib = variant.build === 'base' ? old : current
      const store = group.store === 'memory' ? new lib.MemoryStore() : new lib.CookieStore()
      const extra = (await variant.setup?.(store, { otel, sdk })) ?? {}
      const manager = lib.createSessionManager({ store, keys: [SECRET], cookie: { secure: false }, ...extra } as Options)
      const first = manager.begin(undefined)
      if (variant.needs !== undefined && typeof (first as unknown as Record<string, unknown>)[variant.needs] !== 'function') {
        notes.push(`"${id}" skipped: this build's session has no ${variant.needs}()`)
        continue
      }
      first.insert('counter', 0)
      const headers = new Lines()
      await manager.commit(first, { status: 200, headers })
      let cookie = (headers.value ?? '').split(';', 1)[0] ?? ''
      const route = ROUTES[variant.route ?? group.route]
      const request = async (): Promise<void> => {
        const session = manager.begin(cookie)
        await route(session)
        const lines = new Lines()
        await manager.commit(session, { status: 200, headers: lines })
        if (lines.value !== null) cookie = lines.value.split(';', 1)[0] ?? cookie
      }
      cases.push({ id, group: groupName, row: variant.name, request })
    }
  }
  return { cases, notes }
}

const cpuUs = (): number => {
  const { user, system } = process.cpuUsage()
  return user + system
}

async function batch(run: () => Promise<void>, n: number): Promise<{ cpu: number; wall: number }> {
  const wall0 = process.hrtime.bigint()
  const cpu0 = cpuUs()
  for (let i = 0; i < n; i++) await run()
  return { cpu: (cpuUs() - cpu0) / n, wall: Number(process.hrtime.bigint() - wall0) / 1000 / n }
}

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  return (sorted[low] as number) + ((sorted[Math.ceil(at)] as number) - (sorted[low] as number)) * (at - low)
}

interface Measured {
  case: Case
  perBatch: number
  cpu: number[]
  wall: number[]
}

async function measure(cases: Case[], rounds: number): Promise<Measured[]> {
  const measured: Measured[] = []
  for (const c of cases) {
    await batch(c.request, 300)
    const probe = await batch(c.request, 300)
    // About 20 ms of CPU per batch: long enough for the clock's 1 ms grain, short enough to interleave finely.
    measured.push({ case: c, perBatch: Math.max(50, Math.round(20_000 / Math.max(probe.cpu, 1))), cpu: [], wall: [] })
  }
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < measured.length; k++) {
      const m = measured[(k + round) % measured.length] as Measured
      const { cpu, wall } = await batch(m.case.request, m.perBatch)
      m.cpu.push(cpu)
      m.wall.push(wall)
    }
    process.stdout.write(`\rround ${round + 1}/${rounds}`)
  }
  process.stdout.write('\n')
  return measured
}

function report(measured: Measured[], notes: string[], base: string, rounds: number, loadBefore: number[]): string {
  const lines = [
    `Cost per request of issue 13's features, in-process (begin, route, commit), CPU µs per request (user + system),`,
    `median of ${rounds} interleaved rounds; "× first row" is the median of the per-round ratios to the group's first row,`,
    `[25th, 75th percentile] in brackets. Base build: ${base.slice(0, 10)}. ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version},`,
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average before the run ${loadBefore.map((l) => l.toFixed(1)).join(' / ')}.`,
    '',
  ]
  const groups = [...new Set(measured.map((m) => m.case.group))]
  for (const group of groups) {
    const rows = measured.filter((m) => m.case.group === group)
    const first = rows[0] as Measured
    lines.push(`### ${group}`, '', '| row | CPU µs/request | IQR | × first row | wall µs/request |', '|---|---:|---:|---:|---:|')
    for (const row of rows) {
      const ratios = row.cpu.map((cpu, i) => cpu / (first.cpu[i] as number))
      const ratio = row === first ? '1' : `${quantile(ratios, 0.5).toFixed(3)} [${quantile(ratios, 0.25).toFixed(3)}, ${quantile(ratios, 0.75).toFixed(3)}]`
      lines.push(
        `| ${row.case.row} | ${quantile(row.cpu, 0.5).toFixed(2)} | ${quantile(row.cpu, 0.25).toFixed(2)}–${quantile(row.cpu, 0.75).toFixed(2)} | ${ratio} | ${quantile(row.wall, 0.5).toFixed(2)} |`,
      )
    }
    lines.push('')
  }
  if (notes.length > 0) lines.push(...notes.map((note) => `- ${note}`), '')
  return lines.join('\n')
}

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href
if (isMain) {
  const args = process.argv.slice(2)
  const baseAt = args.indexOf('--base')
  const base = baseAt >= 0 ? (args.splice(baseAt, 2)[1] ?? DEFAULT_BASE) : DEFAULT_BASE
  const out = args.find((arg) => !arg.startsWith('--'))
  const only = process.env['BENCH_CASES'] ? new RegExp(process.env['BENCH_CASES']) : undefined
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 25)
  const { loadavg } = await import('node:os')
  const loadBefore = loadavg()
  const { cases, notes } = await makeCases(base, only)
  const text = report(await measure(cases, rounds), notes, base, rounds, loadBefore)
  console.log(text)
  if (out !== undefined) writeFileSync(out, text)
}
