// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the hash Redis Cluster maps keys with
// (see the Redis Cluster specification, "Keys distribution model").
const TABLE = (() => {
  const table = new Uint16Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[byte] = crc
  }
  return table
})()

const encoder = new TextEncoder()

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number)
  return crc
}

/**
 * How many hash slots a Redis Cluster has.
 *
 * @example
 * ```ts
 * for (let slot = 0; slot < SLOTS; slot++) check(slot)
 * ```
 */
export const SLOTS = 16384

/**
 * The Redis Cluster hash slot of `key`: the CRC16 of its hash tag (the text between the first `{`
 * and the next `}`, when not empty) or of the whole key, modulo 16384, as `CLUSTER KEYSLOT` answers.
 * The store uses it to ask a cluster client about the node that holds a key; drivers route by
 * themselves.
 *
 * @example
 * ```ts
 * keySlot('cloakroom:{Xk3_a9Qp}3q2…') // the slot of 'Xk3_a9Qp'
 * ```
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(encoder.encode(key.slice(open + 1, close))) % SLOTS
  }
  return crc16(encoder.encode(key)) % SLOTS
}
