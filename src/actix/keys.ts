/**
 * actix-web's `cookie::Key` (cookie crate 0.16, `src/secure/key.rs`): 64 bytes of material, the
 * first 32 the HMAC-SHA256 signing key, the last 32 the AES-256-GCM encryption key.
 *
 * - `Key::from(bytes)` takes the first 64 bytes of at least 64 (cloakroom's `key: 'raw'`).
 * - `Key::derive_from(master)` (master of at least 32 bytes) runs HKDF-SHA256 **Expand only**
 *   (RFC 5869 §2.3): the master is used as the pseudorandom key, with no Extract step and no salt,
 *   the info string below, and 64 bytes out (cloakroom's `key: 'derive'`).
 */

/** HKDF `info` of `Key::derive_from`. */
export const KEYS_INFO = 'COOKIE;SIGNED:HMAC-SHA256;PRIVATE:AEAD-AES-256-GCM'
/** Bytes of a `cookie::Key`. */
export const KEY_BYTES = 64
/** Bytes `Key::derive_from` needs at least. */
export const MASTER_BYTES = 32

/** How a secret of `keys` becomes a `cookie::Key`: `Key::from` (`'raw'`) or `Key::derive_from` (`'derive'`). */
export type ActixKeyMode = 'raw' | 'derive'

/** A `cookie::Key` split into its two halves. */
export interface ActixKey {
  /** Bytes 0–31: the HMAC-SHA256 key of signed cookies. */
  signing: Uint8Array
  /** Bytes 32–63: the AES-256-GCM key of private cookies. */
  encryption: Uint8Array
}

/** HMAC-SHA256, synchronous (node:crypto) or not (WebCrypto). */
export type Hmac<R> = (key: Uint8Array, data: Uint8Array) => R

/** Whether a secret is long enough to be a `cookie::Key` under `mode`. */
export function fitsActix(secret: Uint8Array, mode: ActixKeyMode): boolean {
  return secret.length >= (mode === 'raw' ? KEY_BYTES : MASTER_BYTES)
}

/**
 * `Key::from`: the first 64 bytes, split in two.
 *
 * @example
 * ```ts
 * const key = keyFrom(Uint8Array.from({ length: 64 }, (_, i) => i)) // signing 0..31, encryption 32..63
 * ```
 */
export function keyFrom(bytes: Uint8Array): ActixKey {
  if (bytes.length < KEY_BYTES) throw new RangeError(`a cookie::Key needs at least ${KEY_BYTES} bytes, got ${bytes.length}`)
  return { signing: bytes.slice(0, 32), encryption: bytes.slice(32, KEY_BYTES) }
}

const info = new TextEncoder().encode(KEYS_INFO)

// HKDF-Expand for L = 64 = 2 × HashLen: T(1) = HMAC(PRK, info ‖ 0x01), T(2) = HMAC(PRK, T(1) ‖ info ‖ 0x02).
function firstBlockInput(): Uint8Array {
  const input = new Uint8Array(info.length + 1)
  input.set(info)
  input[info.length] = 1
  return input
}

function secondBlockInput(first: Uint8Array): Uint8Array {
  const input = new Uint8Array(first.length + info.length + 1)
  input.set(first)
  input.set(info, first.length)
  input[input.length - 1] = 2
  return input
}

function checkMaster(master: Uint8Array): void {
  if (master.length < MASTER_BYTES) throw new RangeError(`Key::derive_from needs a master key of at least ${MASTER_BYTES} bytes, got ${master.length}`)
}

/**
 * `Key::derive_from` with a synchronous HMAC.
 *
 * @example
 * ```ts
 * const key = deriveFrom(master, (k, d) => createHmac('sha256', k).update(d).digest())
 * ```
 */
export function deriveFrom(master: Uint8Array, hmac: Hmac<Uint8Array>): ActixKey {
  checkMaster(master)
  const first = hmac(master, firstBlockInput())
  const second = hmac(master, secondBlockInput(first))
  return { signing: new Uint8Array(first), encryption: new Uint8Array(second) }
}

/**
 * `Key::derive_from` with an asynchronous HMAC (WebCrypto).
 *
 * @example
 * ```ts
 * const key = await deriveFromAsync(master, webHmac)
 * ```
 */
export async function deriveFromAsync(master: Uint8Array, hmac: Hmac<Promise<Uint8Array>>): Promise<ActixKey> {
  checkMaster(master)
  const first = await hmac(master, firstBlockInput())
  const second = await hmac(master, secondBlockInput(first))
  return { signing: new Uint8Array(first), encryption: new Uint8Array(second) }
}
