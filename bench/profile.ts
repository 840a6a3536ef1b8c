/**
 * Profiles one server under load: `tsx bench/profile.ts <server file> <store> <route> [seconds]`,
 * e.g. `tsx bench/profile.ts bench/servers/cloakroom-node.ts memory /read`. Runs the server with
 * `node --cpu-prof`, drives the route as the benchmark does, and prints where the time goes.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Route } from './matrix.js'
import { startLoadGenerator } from './lib/loadgen-process.js'
import { summarizeProfile } from './lib/profile-summary.js'
import { startServer } from './lib/server-process.js'
import { makeSessions } from './lib/sessions.js'

const [file, store = 'memory', route = '/read', seconds = '5'] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: tsx bench/profile.ts <server file> <store> <route> [seconds]')
const root = fileURLToPath(new URL('..', import.meta.url))
const dir = fileURLToPath(new URL('./.work/profile/', import.meta.url))
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const server = await startServer({ file, port: 4599, cwd: root, cpus: '0', env: { BENCH_STORE: store }, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
const loadgen = startLoadGenerator(root, '1')
try {
  // A bare server makes no sessions: it gets as many distinct cookies, as in run.ts, so every request has the same shape.
  const cookies = file.includes('/bare-')
    ? Array.from({ length: 1000 }, () => `id=${randomBytes(32).toString('base64url')}`)
    : await makeSessions('http://127.0.0.1:4599', 1000)
  await loadgen.run({ url: 'http://127.0.0.1:4599', path: route as Route, cookies, connections: 32, seconds: Number(seconds) })
} finally {
  loadgen.stop()
  await server.stop()
}
const profile = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
if (profile === undefined) throw new Error('no profile was written')
const { byFunction, byFile } = summarizeProfile(JSON.parse(readFileSync(dir + profile, 'utf8')) as Parameters<typeof summarizeProfile>[0])
console.log(`${file} ${store} ${route}: self time by file`)
for (const [name, pct] of byFile.slice(0, 20)) console.log(`${pct.toFixed(1).padStart(6)} %  ${name}`)
console.log('\nself time by function:')
for (const [name, pct] of byFunction.slice(0, 30)) console.log(`${pct.toFixed(1).padStart(6)} %  ${name}`)
