/**
 * The crypto operations measured on every runtime, written once over the `CookieSealer` interface
 * so that node:crypto, WebCrypto in Node and WebCrypto in workerd run the very same loop.
 *
 * @module
 */
import type { CookieSealer, CryptoProvider } from '../../src/crypto/types.js'

/** What one loop iteration does. */
export type CryptoOp = 'seal+open' | 'seal' | 'open' | 'open (cached)'

/** Every operation, in the order they are reported. */
export const CRYPTO_OPS: readonly CryptoOp[] = ['seal+open', 'seal', 'open', 'open (cached)']

/** A record the size of the benchmark's counter session, as the manager seals it. */
export const PLAINTEXT = '~mkp2x4g0.{"v":1,"d":{"counter":41},"c":1767225600000,"a":null,"e":1767312000000}'

/** A fixed 32-byte test secret (never a real one). */
const SECRET = new TextEncoder().encode('micro benchmark secret, thirty-two bytes or more')

/** The sealers and a sealed value, made once: subkeys are derived and imported here, never per call. */
export interface CryptoFixture {
  uncached: CookieSealer
  cached: CookieSealer
  value: string
}

/**
 * Derives the keys once and seals one value to open.
 *
 * @example
 * ```ts
 * const fixture = await cryptoFixture(cryptoProvider)
 * await runCryptoOp(fixture, 'seal+open', 1000)
 * ```
 */
export async function cryptoFixture(provider: CryptoProvider): Promise<CryptoFixture> {
  const options = { keys: [SECRET], mode: 'private', cookieName: 'id' } as const
  const uncached = await provider.createSealer({ ...options, openedCache: false })
  const cached = await provider.createSealer(options)
  const value = await uncached.seal(PLAINTEXT)
  await cached.open(value)
  return { uncached, cached, value }
}

/**
 * Runs `op` `n` times; awaits only what the provider answers with a promise, so node:crypto runs
 * without a promise hop, as the manager runs it.
 */
export async function runCryptoOp(fixture: CryptoFixture, op: CryptoOp, n: number): Promise<void> {
  const { uncached, cached, value } = fixture
  for (let i = 0; i < n; i++) {
    let opened
    if (op === 'seal+open' || op === 'seal') {
      const sealing = uncached.seal(PLAINTEXT)
      const sealed = typeof sealing === 'string' ? sealing : await sealing
      if (op === 'seal') continue
      opened = uncached.open(sealed)
    } else {
      opened = (op === 'open' ? uncached : cached).open(value)
    }
    const settled = opened instanceof Promise ? await opened : opened
    if (settled === null) throw new Error(`${op}: the value did not open`)
  }
}
