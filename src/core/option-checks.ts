import { stringifySetCookie } from 'cookie'

/**
 * The longest duration option, in seconds: 400 days. Browsers cap a cookie's `Max-Age` at 400 days
 * (RFC 6265bis), so no session can outlive it in the browser; a longer window would only
 * make stores keep records no cookie can reach, and very large values overflow stores' expiry
 * arithmetic (Redis refuses a `PX` it cannot add to its clock).
 *
 * @example
 * ```ts
 * if (ttl > MAX_DURATION_SECONDS) throw new ConfigError('…')
 * ```
 */
export const MAX_DURATION_SECONDS = 400 * 86_400

/** A key made of a unit this long or shorter, repeated, is a placeholder, never a secret. */
const LONGEST_REPEATED_UNIT = 8

/**
 * True when `bytes` is one unit of at most 8 bytes repeated ('a' × 32, 32 zero bytes,
 * 'password' × 4): a placeholder, not a secret. A key from a CSPRNG is never one.
 *
 * @example
 * ```ts
 * isRepeatedPattern(new TextEncoder().encode('ab'.repeat(16))) // true
 * isRepeatedPattern(crypto.getRandomValues(new Uint8Array(32))) // false
 * ```
 */
export function isRepeatedPattern(bytes: Uint8Array): boolean {
  for (let unit = 1; unit <= LONGEST_REPEATED_UNIT && unit < bytes.length; unit++) {
    let repeats = true
    for (let i = unit; i < bytes.length && repeats; i++) repeats = bytes[i] === bytes[i - unit]
    if (repeats) return true
  }
  return false
}

// IPv6 in any written form (brackets, an embedded IPv4 tail, a zone): hex, '.' and two ':' or more.
const IPV6 = /^\[?[0-9a-f.]*:[0-9a-f.]*:[0-9a-f:.]*(?:%[^\]]*)?\]?$/i
// The WHATWG URL parser reads a host whose last label is a number (decimal or 0x hex) as IPv4.
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i

/**
 * Why a `cookie.domain` can never be a Domain attribute browsers honour beyond the host itself, or
 * `undefined` when it can. An IP address or a single label (`com`, `localhost`) is at best taken
 * as host-only (RFC 6265bis: a Domain attribute that is a public suffix, or that the request host does not domain-match, is refused), so
 * the fix is to leave the domain unset.
 *
 * @example
 * ```ts
 * hostOnlyDomain('127.0.0.1') // 'an IP address'
 * hostOnlyDomain('com') // 'a single label'
 * hostOnlyDomain('example.com') // undefined
 * ```
 */
export function hostOnlyDomain(domain: string): 'an IP address' | 'a single label' | undefined {
  if (IPV6.test(domain)) return 'an IP address'
  const labels = domain.split('.')
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) return 'an IP address'
  if (labels.length === 1) return 'a single label'
  return undefined
}

/**
 * Whether the `cookie` package, which writes every `Set-Cookie` line, accepts `path` as a Path
 * attribute. Asked of the package itself, so construction refuses exactly what it would refuse on
 * the first response.
 *
 * @example
 * ```ts
 * cookiePackageAcceptsPath('/app') // true
 * cookiePackageAcceptsPath('/a<b') // false
 * ```
 */
export function cookiePackageAcceptsPath(path: string): boolean {
  try {
    stringifySetCookie('probe', '', { path })
    return true
  } catch {
    return false
  }
}
