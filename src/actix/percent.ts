/**
 * The percent-encoding of cookie names and values that actix-web applies on the way out
 * (`Cookie::encoded()` of the `cookie` crate 0.16) and undoes on the way in (`Cookie::parse_encoded`).
 *
 * The encode set is the URL standard's userinfo set plus `(`, `)` and `,`, which `cookie` 0.16.1
 * added (0.16.0 left those three as they are): C0 controls, space, `"` `#` `%` `/` `:` `;` `<` `=`
 * `>` `?` `@` `[` `\` `]` `^` `` ` `` `{` `|` `}` `(` `)` `,`, DEL, and every non-ASCII byte of the
 * UTF-8 form. `+` is not encoded. Decoding is the same for both versions, so values written by
 * either read back alike.
 */

const ENCODE = new Uint8Array(128)
for (let c = 0; c < 0x20; c++) ENCODE[c] = 1
ENCODE[0x7f] = 1
for (const c of ' "#%/:;<=>?@[\\]^`{|}(),') ENCODE[c.charCodeAt(0)] = 1

const HEX = '0123456789ABCDEF'
const utf8 = new TextEncoder()
// fatal: bytes that are not UTF-8 make actix-web refuse the whole Cookie header; here, the one value.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Percent-encodes a cookie value as `cookie` 0.16.1 and later do.
 *
 * @example
 * ```ts
 * encodeCookieValue('{"a":"1"}') // '%7B%22a%22%3A%221%22%7D'
 * encodeCookieValue('ab+/=')     // 'ab+%2F%3D'
 * ```
 */
export function encodeCookieValue(value: string): string {
  let plain = true
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 128 || ENCODE[c] === 1) {
      plain = false
      break
    }
  }
  if (plain) return value
  let out = ''
  for (const byte of utf8.encode(value)) {
    out += byte >= 128 || ENCODE[byte] === 1 ? '%' + HEX[byte >> 4]! + HEX[byte & 15]! : String.fromCharCode(byte)
  }
  return out
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

/**
 * Undoes the percent-encoding as the `percent-encoding` crate does: each `%` followed by two hex
 * digits becomes that byte, any other `%` stays as it is. `null` when the bytes that result are
 * not UTF-8 (actix-web then sees no cookie).
 *
 * @example
 * ```ts
 * decodeCookieValue('ab+%2F%3D') // 'ab+/='
 * decodeCookieValue('%zz')       // '%zz'
 * decodeCookieValue('%FF')       // null
 * ```
 */
export function decodeCookieValue(value: string): string | null {
  if (value.indexOf('%') === -1) return value
  const input = utf8.encode(value)
  const out = new Uint8Array(input.length)
  let o = 0
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!
    if (byte === 0x25 && i + 2 < input.length) {
      const high = hexValue(input[i + 1]!)
      const low = hexValue(input[i + 2]!)
      if (high >= 0 && low >= 0) {
        out[o++] = (high << 4) | low
        i += 2
        continue
      }
    }
    out[o++] = byte
  }
  try {
    return strictUtf8.decode(out.subarray(0, o))
  } catch {
    return null
  }
}
