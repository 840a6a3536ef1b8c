// Guards /guarded/* in the edge runtime (WebCrypto): no session, a redirect to /login; a session,
// one more visit counted, which the page behind sees in the same request.
import { NextResponse, type NextRequest } from 'next/server'
import { nextSessions } from 'cloakroom/next'
import { edgeOptions, type EdgeData } from './lib/edge-options'

const sessions = nextSessions<EdgeData>({ ...edgeOptions(), keys: [process.env.SESSION_KEY as string] })

export default sessions.middleware(async (request: NextRequest, session) => {
  if (!(await session.has('user_id'))) return NextResponse.redirect(new URL('/login', request.url))
  session.insert('visits', ((await session.get('visits')) ?? 0) + 1)
  return NextResponse.next()
})

export const config = { matcher: ['/guarded/:path*'] }
