import { parseSetCookie, type SetCookie } from 'cookie'

/** The parsed Set-Cookie lines of a response. */
export function setCookies(response: Response): SetCookie[] {
  return response.headers.getSetCookie().map((line) => parseSetCookie(line))
}

/** The one Set-Cookie line for `name`, or undefined; fails the test if there are several. */
export function sessionCookie(response: Response, name = 'id'): SetCookie | undefined {
  const matching = setCookies(response).filter((cookie) => cookie.name === name)
  if (matching.length > 1) throw new Error(`expected at most one ${name} cookie, got ${matching.length}`)
  return matching[0]
}

/** The raw Set-Cookie line for `name`. */
export function sessionCookieLine(response: Response, name = 'id'): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`))
}

/** A `Cookie` request header carrying the cookie a response set. */
export function cookieHeader(response: Response, name = 'id'): string {
  const cookie = sessionCookie(response, name)
  if (cookie === undefined) throw new Error(`the response set no ${name} cookie`)
  return `${name}=${cookie.value ?? ''}`
}
