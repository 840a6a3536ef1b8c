import { createHash, randomFillSync } from 'node:crypto'

// Ids are minted often; filling a pooled buffer costs a fraction of a randomBytes() call per id.
const POOL_SIZE = 32 * 128
const pool = Buffer.allocUnsafe(POOL_SIZE)
let poolOffset = POOL_SIZE

function randomSlice(length: number): Buffer {
  if (length > POOL_SIZE) return randomFillSync(Buffer.allocUnsafe(length))
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const slice = pool.subarray(poolOffset, poolOffset + length)
  poolOffset += length
  return slice
}

/**
 * A new session id for a server store: `bytes` bytes from the CSPRNG (default 32 = 256 bits),
 * base64url without padding (43 characters for 32 bytes).
 */
export function randomId(bytes = 32): string {
  return randomSlice(bytes).toString('base64url')
}

/**
 * The key a server store files a record under: SHA-256 of the session id, base64url. The raw id
 * never reaches the backend, so a dump of Redis or a table yields no usable cookie, and a lookup's
 * timing says nothing about valid ids.
 */
export function storageKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url')
}
