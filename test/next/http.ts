// HTTP helpers of the Next.js tests: requests to the running app, cookies read off responses, and
// server actions posted as a browser without JavaScript posts a form.
import { parseSetCookie, type SetCookie } from 'cookie'

/** Every `Set-Cookie` of the response named `name`. */
export function cookiesNamed(response: Response, name: string): SetCookie[] {
  return response.headers
    .getSetCookie()
    .map((line) => parseSetCookie(line))
    .filter((cookie) => cookie.name === name)
}

/** The one cookie named `name` the response sets; fails if there is none or more than one. */
export function mustCookie(response: Response, name = 'id'): SetCookie {
  const found = cookiesNamed(response, name)
  if (found.length !== 1) throw new Error(`expected one ${name} cookie, got ${found.length}: ${response.headers.getSetCookie().join(' | ')}`)
  return found[0] as SetCookie
}

/** A client of the app at `base`: never follows redirects, sends the cookie given. */
export function client(base: string) {
  const call = (method: 'GET' | 'POST', path: string, options: { cookie?: SetCookie | string; json?: unknown; form?: FormData } = {}): Promise<Response> => {
    const headers = new Headers({ origin: base })
    const { cookie } = options
    if (cookie !== undefined) headers.set('cookie', typeof cookie === 'string' ? cookie : `${cookie.name}=${cookie.value ?? ''}`)
    let body: string | FormData | undefined
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json')
      body = JSON.stringify(options.json)
    } else if (options.form !== undefined) {
      body = options.form
    }
    return fetch(base + path, { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) })
  }
  return {
    get: (path: string, cookie?: SetCookie | string) => call('GET', path, cookie === undefined ? {} : { cookie }),
    post: (path: string, options: { cookie?: SetCookie | string; json?: unknown } = {}) => call('POST', path, options),
    /**
     * Posts the form `formId` of the page at `path` to its server action, as a browser without
     * JavaScript does: multipart, with the hidden `$ACTION_ID_…` field Next.js renders into it.
     */
    async action(path: string, formId: string, fields: Record<string, string> = {}, cookie?: SetCookie | string): Promise<Response> {
      const html = await (await call('GET', path, cookie === undefined ? {} : { cookie })).text()
      const form = new RegExp(`<form id="${formId}"[^>]*>[\\s\\S]*?name="(\\$ACTION_ID_[0-9a-f]+)"`).exec(html)
      if (form === null) throw new Error(`no server action form #${formId} on ${path}`)
      const data = new FormData()
      data.set(form[1] as string, '')
      for (const [name, value] of Object.entries(fields)) data.set(name, value)
      return call('POST', path, { form: data, ...(cookie === undefined ? {} : { cookie }) })
    },
  }
}

export type Client = ReturnType<typeof client>
