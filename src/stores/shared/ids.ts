import * as nodeCrypto from 'node:crypto'
import { encodeBase64url } from '../../crypto/format.js'
import { pooledRandomBytes } from '../../crypto/random.js'

/**
 * A new session id for a server store: `bytes` bytes from the CSPRNG (default 32 = 256 bits),
 * base64url without padding (43 characters for 32 bytes).
 */
export function randomId(bytes = 32): string {
  return encodeBase64url(pooledRandomBytes(bytes))
}

/**
 * The key a server store files a record under: SHA-256 of the session id, base64url. The raw id
 * never reaches the backend, so a dump of Redis or a table yields no usable cookie, and a lookup's
 * timing says nothing about valid ids.
 */
export function storageKey(id: string): string {
  return oneShotHash === undefined ? nodeCrypto.createHash('sha256').update(id).digest('base64url') : oneShotHash('sha256', id, 'base64url')
}

// Node's one-call `crypto.hash` (Node 20.12+) skips the Hash object: about 0.2 µs a key against 1.4 µs.
// Read from the namespace because runtimes that mimic node:crypto may not have it.
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash
