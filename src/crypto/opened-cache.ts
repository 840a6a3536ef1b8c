/**
 * A bounded cache of cookie values that already verified, so a value seen again (the next request
 * of the same browser) costs a lookup and a comparison instead of an AEAD open or an HMAC. Pure
 * JavaScript over strings, so both crypto providers use it.
 *
 * What a hit means: these exact characters were authenticated before by this sealer, under a key
 * that is still in its ring (the sealer checks that on every hit). Nothing after the open is
 * skipped: the manager still reads createdAt and the absolute timeout from the plaintext, and the
 * store still judges the expiry embedded in the record, on every request.
 *
 * Timing: the entries are found by the last {@link SUFFIX_CHARS} characters of a value (the AEAD
 * tag or the MAC, random per seal), and a candidate is then compared with the whole request value
 * in constant time. A lookup's timing can thus tell an attacker at most whether some cached value
 * ends in the tag they sent; it never lets them build the rest of a value, which only the
 * constant-time comparison or the cryptography accepts.
 *
 * @module
 */
import { MAX_SEALED_LENGTH } from './format.js'
import type { OpenedValue, SealerOptions } from './types.js'

/** Characters of a value's end the entries are found by: 132 bits, all of them tag or MAC in both formats. */
export const SUFFIX_CHARS = 22

/** Bounds of an {@link OpenedCache}. */
export interface OpenedCacheLimits {
  /** Values kept at most [10,000]. */
  maxEntries: number
  /**
   * Characters kept at most, values and plaintexts together [4,194,304, at most 8 MiB of strings]:
   * bounds memory when cookies are large.
   */
  maxChars: number
}

/** The bounds a sealer's cache gets unless told otherwise. */
export const DEFAULT_OPENED_CACHE: OpenedCacheLimits = { maxEntries: 10_000, maxChars: 4_194_304 }

interface Entry<K> {
  suffix: string
  value: string
  plaintext: string
  /** The ring key the value verified under; the sealer checks it is still in its ring. */
  key: K
  stale: boolean
  chars: number
  /** The neighbours in insertion order (eviction takes the oldest). */
  older: Entry<K> | undefined
  newer: Entry<K> | undefined
}

/**
 * Compares two strings in time that depends on their length only, never on where they differ.
 */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Verified values and their plaintexts, oldest evicted first once either bound is reached.
 * `K` is whatever the sealer identifies a ring key by.
 */
export class OpenedCache<K> {
  readonly #entries = new Map<string, Entry<K>>()
  readonly #limits: OpenedCacheLimits
  #chars = 0
  // Insertion order is kept in a list through the entries rather than taken from the Map: finding a
  // Map's first entry walks over every slot deleted before it, which made each eviction cost as
  // much as thousands of lookups once the cache was full.
  #oldest: Entry<K> | undefined
  #newest: Entry<K> | undefined

  constructor(limits: OpenedCacheLimits = DEFAULT_OPENED_CACHE) {
    this.#limits = limits
  }

  /** Values held now. */
  get size(): number {
    return this.#entries.size
  }

  /** Characters held now (values and plaintexts). */
  get chars(): number {
    return this.#chars
  }

  /**
   * The opened value when exactly `value` verified before under a key for which `inRing` is still
   * true; `undefined` otherwise (then the caller opens it the slow way).
   */
  get(value: string, inRing: (key: K) => boolean): OpenedValue | undefined {
    if (typeof value !== 'string' || value.length < SUFFIX_CHARS) return undefined
    const entry = this.#entries.get(value.slice(-SUFFIX_CHARS))
    if (entry === undefined || !sameText(entry.value, value)) return undefined
    if (!inRing(entry.key)) {
      this.#drop(entry)
      return undefined
    }
    return { plaintext: entry.plaintext, stale: entry.stale }
  }

  /**
   * Remembers a value that verified (or that this process just sealed) under `key`. A value cut
   * out of a request's `Cookie` header is copied first (`fromRequest`): kept as it is, it could
   * hold the whole header in memory, beyond what the bound counts.
   */
  set(value: string, key: K, plaintext: string, stale: boolean, fromRequest: boolean): void {
    const chars = value.length + plaintext.length
    // A value too long to open is never entered, so it cannot open from here either.
    if (value.length < SUFFIX_CHARS || value.length > MAX_SEALED_LENGTH || chars > this.#limits.maxChars) return
    // V8 flattens the concatenation into a fresh string before slicing it, so the copy holds no
    // reference to the header the value was cut from.
    if (fromRequest) value = (' ' + value).slice(1)
    const suffix = value.slice(-SUFFIX_CHARS)
    const previous = this.#entries.get(suffix)
    if (previous !== undefined) this.#drop(previous)
    const entry: Entry<K> = { suffix, value, plaintext, key, stale, chars, older: this.#newest, newer: undefined }
    if (this.#newest === undefined) this.#oldest = entry
    else this.#newest.newer = entry
    this.#newest = entry
    this.#entries.set(suffix, entry)
    this.#chars += chars
    while (this.#oldest !== undefined && (this.#entries.size > this.#limits.maxEntries || this.#chars > this.#limits.maxChars)) {
      this.#drop(this.#oldest)
    }
  }

  /** Forgets every value that verified under a key for which `removed` is true. */
  forget(removed: (key: K) => boolean): void {
    for (const entry of this.#entries.values()) if (removed(entry.key)) this.#drop(entry)
  }

  #drop(entry: Entry<K>): void {
    this.#entries.delete(entry.suffix)
    this.#chars -= entry.chars
    if (entry.older === undefined) this.#oldest = entry.newer
    else entry.older.newer = entry.newer
    if (entry.newer === undefined) this.#newest = entry.older
    else entry.newer.older = entry.older
  }
}

/** The cache a sealer made with `options` uses, or `undefined` when they turn it off. */
export function cacheFor<K>(options: SealerOptions): OpenedCache<K> | undefined {
  const limits = options.openedCache ?? DEFAULT_OPENED_CACHE
  return limits === false ? undefined : new OpenedCache<K>(limits)
}
