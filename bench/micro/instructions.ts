/**
 * Instruction counts of the crypto and cookie hot paths under `valgrind --tool=callgrind`: on a
 * shared, loaded machine wall-clock and even CPU-time figures move by a factor of two or more, an
 * instruction count does not. The operations run one after the other in one process (start-up is
 * paid once), each `WARMUP` calls, then `N` counted ones.
 *
 * `tsx bench/micro/instructions.ts [out.json] [op …]` from the repository root (the
 * operations are listed in `OPS`). Alternatives that cloakroom does not ship (libsodium through
 * `sodium-native`, `@noble/ciphers`) are measured only when they can be loaded: sodium-native from
 * this folder's dependencies, @noble/ciphers from `NOBLE_DIR` (a folder where it is installed).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type * as NodeCrypto from '../../src/crypto/node.js'
import { callgrindSegments, mark } from '../lib/callgrind.js'

/** One operation's cost in instructions (x86-64 instructions retired, as callgrind counts them). */
export interface InstructionResult {
  name: string
  instructions: number
}

const WARMUP = Number(process.env['INSTR_WARMUP'] ?? 1000)
const N = Number(process.env['INSTR_N'] ?? 2000)
// Run from the repository root; the child runs bundled elsewhere, so its own URL says nothing.
const ROOT = `${process.cwd()}/`
const PLAINTEXT = '~mkp2x4g0.{"v":1,"d":{"counter":41},"c":1767225600000,"a":null,"e":1767312000000}'

type Op = () => unknown

/** The operations, each built once (keys derived, values sealed) before its loop runs. */
const OPS: Record<string, () => Promise<Op>> = {
  'node:crypto seal (AES-256-GCM)': async () => {
    const sealer = await nodeSealer(false)
    return () => sealer.seal(PLAINTEXT)
  },
  'node:crypto seal + enter in the cache': async () => {
    const sealer = await nodeSealer(undefined)
    return () => sealer.seal(PLAINTEXT)
  },
  'node:crypto open (AES-256-GCM)': async () => {
    const sealer = await nodeSealer(false)
    const value = sealer.seal(PLAINTEXT) as string
    return () => sealer.open(value)
  },
  'node:crypto open, cache hit': async () => {
    const sealer = await nodeSealer(undefined)
    const value = sealer.seal(PLAINTEXT) as string
    return () => sealer.open(value)
  },
  'node:crypto sign (HMAC-SHA256)': async () => {
    const sealer = await nodeSealer(false, 'signed')
    return () => sealer.seal(PLAINTEXT)
  },
  'node:crypto verify (HMAC-SHA256)': async () => {
    const sealer = await nodeSealer(false, 'signed')
    const value = sealer.seal(PLAINTEXT) as string
    return () => sealer.open(value)
  },
  'libsodium XChaCha20-Poly1305 seal (sodium-native)': async () => {
    const sodium = sodiumNative()
    const { key, nonce, ad } = sodiumInputs(sodium)
    const message = Buffer.from(PLAINTEXT)
    return () => {
      sodium.randombytes_buf(nonce)
      const out = Buffer.allocUnsafe(message.length + 16)
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, message, ad, null, nonce, key)
      return out.toString('base64url')
    }
  },
  'libsodium XChaCha20-Poly1305 open (sodium-native)': async () => {
    const sodium = sodiumNative()
    const { key, nonce, ad } = sodiumInputs(sodium)
    const message = Buffer.from(PLAINTEXT)
    const box = Buffer.allocUnsafe(message.length + 16)
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(box, message, ad, null, nonce, key)
    const text = box.toString('base64url')
    return () => {
      const sealed = Buffer.from(text, 'base64url')
      const out = Buffer.allocUnsafe(sealed.length - 16)
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, key)
      return out.toString('utf8')
    }
  },
  '@noble/ciphers XChaCha20-Poly1305 seal': async () => {
    const { xchacha20poly1305, key, nonce, ad } = await noble()
    const message = new TextEncoder().encode(PLAINTEXT)
    return () => Buffer.from(xchacha20poly1305(key, nonce, ad).encrypt(message)).toString('base64url')
  },
  '@noble/ciphers XChaCha20-Poly1305 open': async () => {
    const { xchacha20poly1305, key, nonce, ad } = await noble()
    const text = Buffer.from(xchacha20poly1305(key, nonce, ad).encrypt(new TextEncoder().encode(PLAINTEXT))).toString('base64url')
    return () => new TextDecoder().decode(xchacha20poly1305(key, nonce, ad).decrypt(Buffer.from(text, 'base64url')))
  },
  'empty loop (the harness itself)': async () => () => PLAINTEXT,
}

async function nodeSealer(openedCache: false | undefined, mode: 'private' | 'signed' = 'private'): Promise<{ seal(p: string): unknown; open(v: string): unknown }> {
  const { cryptoProvider } = (await import(pathToFileURL(`${ROOT}dist/crypto/node.js`).href)) as typeof NodeCrypto
  const options = { keys: [new TextEncoder().encode('micro benchmark secret, thirty-two bytes or more')], mode, cookieName: 'id' } as const
  return (await cryptoProvider.createSealer(openedCache === false ? { ...options, openedCache } : options)) as { seal(p: string): unknown; open(v: string): unknown }
}

interface Sodium {
  randombytes_buf(buffer: Buffer): void
  crypto_aead_xchacha20poly1305_ietf_encrypt(out: Buffer, message: Buffer, ad: Buffer, nsec: null, nonce: Buffer, key: Buffer): number
  crypto_aead_xchacha20poly1305_ietf_decrypt(out: Buffer, nsec: null, sealed: Buffer, ad: Buffer, nonce: Buffer, key: Buffer): number
}

function sodiumNative(): Sodium {
  return createRequire(`${ROOT}bench/package.json`)('sodium-native') as Sodium
}

function sodiumInputs(sodium: Sodium): { key: Buffer; nonce: Buffer; ad: Buffer } {
  const key = Buffer.alloc(32, 7)
  const nonce = Buffer.alloc(24)
  sodium.randombytes_buf(nonce)
  return { key, nonce, ad: Buffer.from('\u0000\u0000\u0000\u0002e2\u0000\u0000\u0000\u0008kidkidki\u0000\u0000\u0000\u0002id') }
}

async function noble(): Promise<{ xchacha20poly1305: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array) => { encrypt(m: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array }; key: Uint8Array; nonce: Uint8Array; ad: Uint8Array }> {
  const dir = process.env['NOBLE_DIR']
  if (dir === undefined) throw new Error('set NOBLE_DIR to a folder where @noble/ciphers is installed')
  const entry = createRequire(`${dir}/package.json`).resolve('@noble/ciphers/chacha.js')
  const { xchacha20poly1305 } = (await import(pathToFileURL(entry).href)) as { xchacha20poly1305: Awaited<ReturnType<typeof noble>>['xchacha20poly1305'] }
  return { xchacha20poly1305, key: new Uint8Array(32).fill(7), nonce: new Uint8Array(24).fill(1), ad: new Uint8Array(20) }
}

async function child(names: string[], n: number): Promise<void> {
  for (const name of names) {
    const make = OPS[name]
    if (make === undefined) throw new Error(`unknown operation ${name}`)
    let op: Op = () => name
    try {
      op = await make()
    } catch (error) {
      // Not installed here: the segments still come, and the parent reports the operation as skipped.
      console.error(`SKIP ${name}: ${(error as Error).message}`)
    }
    let sink: unknown
    for (let i = 0; i < WARMUP; i++) sink = op()
    mark()
    for (let i = 0; i < n; i++) sink = op()
    mark()
    if (sink === null || sink === undefined) throw new Error(`${name} produced nothing`)
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv.slice(4), Number(process.argv[3]))
} else {
  const [out, ...picked] = process.argv.slice(2)
  const names = picked.length > 0 ? picked : Object.keys(OPS)
  const { segments, skipped } = await callgrindSegments(fileURLToPath(import.meta.url), ['--child', String(N), ...names], ROOT)
  // Counted from the end (Node itself may mark once while starting): the tail, then per operation
  // its counted loop and its warm-up.
  const results: InstructionResult[] = names.flatMap((name, j) => {
    if (skipped.some((line) => line.startsWith(`SKIP ${name}:`))) return []
    const measured = segments[segments.length - 2 - 2 * (names.length - 1 - j)] as number
    return [{ name, instructions: Math.round(measured / N) }]
  })
  for (const line of skipped) console.warn(line)
  for (const r of results) console.log(`${r.instructions.toLocaleString('en').padStart(10)}  ${r.name}`)
  if (out !== undefined && out !== '-') writeFileSync(out, JSON.stringify(results, null, 1) + '\n')
}
