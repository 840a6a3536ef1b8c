/**
 * The memory soak: four million distinct sessions (SOAK_SESSIONS), about three minutes here, created against cloakroom's memory
 * store on node:http, with the server's resident memory sampled every second. Writes
 * `results/soak.json` and `results/soak.svg`, then regenerates the report. `tsx bench/soak.ts`.
 *
 * @module
 */
import { existsSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderLine } from './lib/chart.js'
import { startLoadGenerator } from './lib/loadgen-process.js'
import { startServer } from './lib/server-process.js'
import { writeReport } from './report.js'
import { canPinApart, freePort } from './lib/host.js'

/** What `results/soak.json` holds. */
export interface SoakResults {
  sessions: number
  seconds: number
  maxEntries: number
  maxBytes: number
  baselineRssMiB: number
  peakRssMiB: number
  finalEntries: number
  finalBytes: number
  /** [seconds since start, resident MiB, records held] */
  samples: [number, number, number][]
}

const root = fileURLToPath(new URL('..', import.meta.url))
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const sessions = Number(process.env['SOAK_SESSIONS'] ?? 4_000_000)
const maxEntries = 100_000
const maxBytes = 64 * 1024 * 1024
const MIB = 2 ** 20



const pinned = canPinApart()
const port = await freePort()
const server = await startServer({
  file: 'bench/servers/soak-memory.ts',
  port,
  cwd: root,
  cpus: pinned ? '0' : undefined,
  env: { SOAK_MAX_ENTRIES: String(maxEntries), SOAK_MAX_BYTES: String(maxBytes) },
})
const loadgen = startLoadGenerator(root, pinned ? '1' : undefined)
const base = `http://127.0.0.1:${port}`
const stats = async () => (await (await fetch(`${base}/stats`)).json()) as { entries: number; bytes: number }
const started = Date.now()
const baselineRssMiB = server.rssBytes() / MIB
const samples: [number, number, number][] = [[0, baselineRssMiB, 0]]
let entries = 0
const sampler = setInterval(() => {
  samples.push([(Date.now() - started) / 1000, server.rssBytes() / MIB, entries])
}, 1000)
try {
  const chunk = 50_000
  for (let done = 0; done < sessions; done += chunk) {
    // No cookie on any request: each one makes a new session.
    const run = await loadgen.run({ url: base, path: '/counter', cookies: [''], connections: 32, amount: Math.min(chunk, sessions - done), jar: false })
    if (run.non2xx + run.errors > 0) throw new Error(`${run.non2xx + run.errors} requests failed`)
    entries = (await stats()).entries
    console.log(`soak: ${(done + chunk).toLocaleString('en-US')} sessions, ${entries} held, RSS ${(server.rssBytes() / MIB).toFixed(0)} MiB, ${run.rps.toFixed(0)} req/s`)
  }
} finally {
  clearInterval(sampler)
  loadgen.stop()
}
const final = await stats()
await server.stop()
const result: SoakResults = {
  sessions,
  seconds: (Date.now() - started) / 1000,
  maxEntries,
  maxBytes,
  baselineRssMiB,
  peakRssMiB: Math.max(...samples.map((s) => s[1])),
  finalEntries: final.entries,
  finalBytes: final.bytes,
  samples,
}
writeFileSync(`${resultsDir}soak.json`, JSON.stringify(result) + '\n')
writeFileSync(
  `${resultsDir}soak.svg`,
  renderLine(
    samples.map((s) => [s[0], s[1]] as const),
    `Resident memory (MiB) of the server while ${sessions.toLocaleString('en-US')} sessions are made (memory store, ${maxEntries.toLocaleString('en-US')} entries / ${maxBytes / MIB} MiB bound)`,
  ),
)
console.log(`soak: peak RSS ${result.peakRssMiB.toFixed(0)} MiB; ${final.entries} records, ${(final.bytes / MIB).toFixed(1)} MiB of session data held at the end`)
if (existsSync(`${resultsDir}raw.json`)) writeReport(resultsDir, root)
