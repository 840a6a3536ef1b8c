import { parseCookie, stringifySetCookie } from 'cookie'

/** The attributes every session `Set-Cookie` line carries. */
export interface CookieAttributes {
  name: string
  secure: boolean
  httpOnly: boolean
  sameSite: 'lax' | 'strict' | 'none'
  path: string
  domain: string | undefined
  partitioned: boolean
}

/** Builds the session's `Set-Cookie` lines; the attribute text is rendered once, at start-up. */
export interface SetCookieWriter {
  /** `name=value; [Max-Age=n; ]attributes`. */
  session(value: string, maxAgeSeconds: number | undefined): string
  /** The removal line: empty value, `Max-Age=0`, an `Expires` in 1970, the same attributes. */
  readonly removal: string
}

const identity = (text: string): string => text

/**
 * Reads one cookie out of a `Cookie` header, leniently: a malformed pair elsewhere in the header
 * does not hide ours, only spaces and tabs are trimmed (never U+00A0, so `\u00a0id` is not `id`),
 * names are compared exactly, and the first cookie of the name wins. Values are not
 * percent-decoded: ours never contain `%`, so a value that does simply fails to verify.
 */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header || header.indexOf(name) === -1) return undefined
  return parseCookie(header, { decode: identity })[name]
}

/**
 * Renders the attribute part of the session cookie once with the `cookie` package (which also
 * validates it), so each response only concatenates strings. The package writes `Max-Age` right
 * after the value, which is where {@link SetCookieWriter.session} puts it.
 */
export function setCookieWriter(attributes: CookieAttributes): SetCookieWriter {
  const { name, ...rest } = attributes
  const options = { ...rest, domain: rest.domain ?? undefined }
  const prefix = `${name}=`
  const sample = stringifySetCookie(name, 'v', options)
  const suffix = sample.slice(prefix.length + 1)
  const removal = stringifySetCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) })
  return {
    session: (value, maxAgeSeconds) =>
      maxAgeSeconds === undefined ? prefix + value + suffix : `${prefix}${value}; Max-Age=${maxAgeSeconds}${suffix}`,
    removal,
  }
}
