// Next.js ends a request early by throwing: `redirect()` and `permanentRedirect()` throw an error
// whose `digest` is `NEXT_REDIRECT;<type>;<url>;<status>;`, and `notFound()`, `forbidden()` and
// `unauthorized()` one whose digest is `NEXT_HTTP_ERROR_FALLBACK;<status>`. These are answers, not
// failures: a session changed before them commits as the answer's status says. Read by their digest
// (the format Next renders them from), so nothing of Next is imported.

/** What a thrown Next.js control-flow error answers. */
export interface NextAnswer {
  status: number
  /** The redirect's target, for a redirect. */
  location?: string
}

function digestOf(thrown: unknown): string | undefined {
  if (typeof thrown !== 'object' || thrown === null) return undefined
  const digest = (thrown as { digest?: unknown }).digest
  return typeof digest === 'string' ? digest : undefined
}

/**
 * The answer a thrown `redirect()`, `permanentRedirect()`, `notFound()`, `forbidden()` or
 * `unauthorized()` stands for; `undefined` for any other error.
 *
 * @example
 * ```ts
 * try { redirect('/account') } catch (error) { nextAnswerOf(error) } // { status: 307, location: '/account' }
 * ```
 */
export function nextAnswerOf(thrown: unknown): NextAnswer | undefined {
  const digest = digestOf(thrown)
  if (digest === undefined) return undefined
  const parts = digest.split(';')
  if (parts[0] === 'NEXT_REDIRECT' && parts.length >= 4) {
    const status = Number(parts.at(-2))
    // The URL may itself hold ';': everything between the type and the status.
    return { status: Number.isInteger(status) ? status : 307, location: parts.slice(2, -2).join(';') }
  }
  if (parts[0] === 'NEXT_HTTP_ERROR_FALLBACK') {
    const status = Number(parts[1])
    return Number.isInteger(status) ? { status } : undefined
  }
  if (digest === 'NEXT_NOT_FOUND') return { status: 404 }
  return undefined
}

/**
 * The response Next.js itself answers a route handler's thrown control-flow error with (a
 * redirect with its `Location`, or an empty 404/403/401), built here so that the session can be
 * committed into it.
 */
export function answerResponse(answer: NextAnswer): Response {
  if (answer.location === undefined) return new Response(null, { status: answer.status })
  return new Response(null, { status: answer.status, headers: { location: answer.location } })
}
