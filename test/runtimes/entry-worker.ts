// The entry of the workerd bundle: a module worker whose routes run the portable suite
// (`/suite`), seal a cookie (`/seal?mode=`) and open one (`/open?mode=`, in the Cookie header),
// answering JSON.
import { openAcross, sealAcross, type ContentSecurity } from './cross-runtime.js'
import { runPortableSuite } from './portable-suite.js'

function modeOf(url: URL): ContentSecurity {
  const mode = url.searchParams.get('mode')
  if (mode !== 'private' && mode !== 'signed') throw new Error(`mode must be private or signed, not ${String(mode)}`)
  return mode
}

/**
 * The worker: `export default { fetch }`, as workerd expects of a module worker.
 *
 * @example
 * ```ts
 * const response = await miniflare.dispatchFetch('http://worker/suite')
 * ```
 */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    try {
      if (url.pathname === '/suite') return Response.json(await runPortableSuite())
      if (url.pathname === '/seal') return Response.json({ cookie: await sealAcross(modeOf(url)) })
      if (url.pathname === '/open') return Response.json({ entries: await openAcross(modeOf(url), request.headers.get('cookie') ?? '') })
      return new Response('not found', { status: 404 })
    } catch (error) {
      return Response.json({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, { status: 500 })
    }
  },
}
