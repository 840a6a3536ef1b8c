/**
 * The cookie cache soak: 400,000 distinct cookie values (SOAK_VALUES) sealed and opened through
 * one sealer with its default cache bound, in process, the heap measured after a full garbage
 * collection every 25,000 values; then the same with the cache off, for the baseline. Half the
 * values are opened as a request would bring them, cut out of an 8 KB `Cookie` header, so a cache
 * that kept a reference to the header would show it. Writes `results/soak-cookie-cache.json` and
 * `results/soak-cookie-cache.svg`. `tsx bench/soak-cookie-cache.ts` (a minute or two).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { cryptoProvider } from '../dist/crypto/node.js'
import { DEFAULT_OPENED_CACHE } from '../dist/crypto/opened-cache.js'
import type { CookieSealer } from '../dist/crypto/types.js'
import { renderLine } from './lib/chart.js'

/** What `results/soak-cookie-cache.json` holds. */
export interface CookieCacheSoak {
  values: number
  maxEntries: number
  maxChars: number
  /** The most the cached strings can weigh: two bytes per character at worst. */
  boundMiB: number
  /** [values so far, heap MiB with the cache, heap MiB without] after a full collection. */
  samples: [number, number, number][]
  /** Largest heap difference (cache on − cache off) over the run. */
  peakCacheMiB: number
}

const MIB = 2 ** 20
const total = Number(process.env['SOAK_VALUES'] ?? 400_000)
const every = 25_000
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const secret = new TextEncoder().encode('soak secret: thirty-two bytes or more of material')
const filler = 'x'.repeat(8000)

/** Heap used after a full collection, in MiB, at every `every` values. */
function soak(openedCache: false | undefined): number[] {
  const options = { keys: [secret], mode: 'private', cookieName: 'id' } as const
  const sealer = cryptoProvider.createSealer(openedCache === false ? { ...options, openedCache } : options) as CookieSealer
  const heap: number[] = []
  for (let i = 0; i < total; i++) {
    // The first half small (a counter: the entry bound binds), the second half up to 3 KB (large
    // cookie-store records: the character bound binds).
    const pad = i < total / 2 ? (i * 7919) % 50 : (i * 7919) % 3000
    const plaintext = `~mkp2x4g0.{"n":${i},"pad":"${'p'.repeat(pad)}"}`
    const value = sealer.seal(plaintext) as string
    if (i % 2 === 0) {
      // A request's copy of the value, cut out of a large Cookie header.
      const header = `a=${filler}; id=${value}; b=1`
      const fromRequest = header.slice(header.indexOf('id=') + 3, header.length - 5)
      if ((sealer.open(fromRequest) as { plaintext: string } | null)?.plaintext !== plaintext) throw new Error('a value did not open')
    }
    if ((i + 1) % every === 0) {
      gc()
      heap.push(process.memoryUsage().heapUsed / MIB)
    }
  }
  return heap
}

gc()
const without = soak(false)
gc()
const withCache = soak(undefined)
const samples: [number, number, number][] = withCache.map((mib, i) => [(i + 1) * every, mib, without[i] as number])
const result: CookieCacheSoak = {
  values: total,
  maxEntries: DEFAULT_OPENED_CACHE.maxEntries,
  maxChars: DEFAULT_OPENED_CACHE.maxChars,
  boundMiB: (DEFAULT_OPENED_CACHE.maxChars * 2) / MIB,
  samples,
  peakCacheMiB: Math.max(...samples.map(([, on, off]) => on - off)),
}
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
writeFileSync(`${resultsDir}soak-cookie-cache.json`, JSON.stringify(result) + '\n')
writeFileSync(
  `${resultsDir}soak-cookie-cache.svg`,
  renderLine(
    samples.map(([n, on, off]) => [n / 1000, on - off] as const),
    `Heap held by the cookie cache (MiB, cache on − cache off) over ${total.toLocaleString('en-US')} distinct values (x: thousands)`,
    result.boundMiB,
    'bound (4 Mi characters × 2 bytes)',
  ),
)
console.log(`cookie cache soak: ${total} values; heap with the cache − without: peak ${result.peakCacheMiB.toFixed(1)} MiB, bound ${result.boundMiB} MiB of strings`)
