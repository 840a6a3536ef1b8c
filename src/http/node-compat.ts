import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http'

// The characters Node refuses in a status message (its checkInvalidHeaderChar).
const INVALID_REASON = /[^\t\x20-\x7e\x80-\xff]/

/**
 * Applies `writeHead(status, [reason], [headers])` to the response at once, refusing what Node
 * would refuse, so that a commit made while the head is held sees (and merges into) the handler's
 * headers. Returns the arguments the replay hands Node's `writeHead` (status and reason only).
 *
 * @example
 * ```ts
 * const replay = foldWriteHead(res, [302, { location: '/home' }]) // [302]; res.getHeader('location') is '/home'
 * ```
 */
export function foldWriteHead(res: ServerResponse, args: unknown[]): unknown[] {
  const [statusArg, reasonArg, headersArg] = args
  const status = Number(statusArg) | 0
  if (status < 100 || status > 999) throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${String(statusArg)}`)
  const reason = typeof reasonArg === 'string' ? reasonArg : undefined
  if (reason !== undefined && INVALID_REASON.test(reason)) throw nodeError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage')
  const headers = (reason === undefined ? (headersArg ?? reasonArg) : headersArg) as OutgoingHttpHeaders | OutgoingHttpHeader[] | null | undefined
  res.statusCode = status
  if (reason !== undefined) res.statusMessage = reason
  if (headers !== undefined && headers !== null) foldHeaders(res, Array.isArray(headers) ? headerPairs(headers) : Object.entries(headers))
  return reason === undefined ? [status] : [status, reason]
}

/**
 * `writeHead`'s headers replace same-named ones, but `set-cookie` lines are added to the handler's
 * earlier ones (the session's joins them later), and a name repeated in a list keeps every value.
 */
function foldHeaders(res: ServerResponse, pairs: [string, unknown][]): void {
  const replaced = new Set<string>()
  for (const [name, value] of pairs) {
    const key = name.toLowerCase()
    if (key === '') continue
    if (key !== 'set-cookie' && !replaced.has(key)) {
      replaced.add(key)
      res.removeHeader(name)
    }
    // appendHeader takes strings, where writeHead also takes numbers; undefined stays for Node to refuse.
    res.appendHeader(name, (Array.isArray(value) ? value.map(String) : typeof value === 'number' ? String(value) : value) as string)
  }
}

/** `[k, v, k, v]` or `[[k, v], [k, v]]` as pairs. */
function headerPairs(list: readonly unknown[]): [string, unknown][] {
  if (Array.isArray(list[0])) return (list as unknown[][]).map((pair) => [String(pair[0] ?? ''), pair[1]])
  if (list.length % 2 !== 0) throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'headers' is invalid")
  const pairs: [string, unknown][] = []
  for (let i = 0; i < list.length; i += 2) pairs.push([String(list[i] ?? ''), list[i + 1]])
  return pairs
}

/**
 * Refuses at once a chunk Node's `write` or `end` would refuse, instead of failing later inside the
 * replay, where the handler can no longer catch it. `end`'s callback or missing chunk passes.
 *
 * @example
 * ```ts
 * checkChunk(args[0]) // throws ERR_INVALID_ARG_TYPE for res.write(42)
 * ```
 */
export function checkChunk(chunk: unknown, atEnd = false): void {
  if (atEnd && (chunk === undefined || chunk === null || typeof chunk === 'function')) return
  if (chunk === null) throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream')
  if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array')
  }
}

/**
 * The callback of a `write` or `end` call (its last function argument), if any.
 *
 * @example
 * ```ts
 * callbackOf(['data', 'utf8', done]) // done
 * ```
 */
export function callbackOf(args: readonly unknown[]): (() => void) | undefined {
  return args.findLast((arg) => typeof arg === 'function') as (() => void) | undefined
}

/**
 * A `writeHead` while the head is held but, as far as the handler knows, sent. Node refuses it, and
 * so does this; but a wrapper that tests the private `_header` (unset while held), as compression
 * does, sends an implicit head again with the same status, and that one passes.
 *
 * @example
 * ```ts
 * if (headSent) return writeHeadAgain(res, args)
 * ```
 */
export function writeHeadAgain(res: ServerResponse, args: readonly unknown[]): ServerResponse {
  if (args.length <= 1 && (args[0] === undefined || Number(args[0]) === res.statusCode)) return res
  throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client')
}

/** An error shaped like Node's own (class, `code`, message), for handlers that test `error.code`. */
function nodeError(Kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, code: string, message: string): Error {
  return Object.assign(new Kind(message), { code })
}
