// The route handlers of the HTTP test: /r/<profile>/<action>, each wrapped by sessions.route().
// They follow the routes of cloakroom's adapter conformance suite (actix-session's scenarios and
// cloakroom's response rules), written the way a Next.js app would: Response.json, redirect(),
// notFound(), unauthorized().
import { notFound, redirect, unauthorized } from 'next/navigation'
import type { NextRequest } from 'next/server'
import type { Session } from 'cloakroom'
import { profile, type Data } from '../../../../lib/profiles'

type Context = { params: Promise<{ profile: string; action: string }> }
type Action = (request: NextRequest, session: Session<Data>, profileName: string) => Response | Promise<Response>

async function counterOf(session: Session<Data>): Promise<{ user_id: string | null; counter: number }> {
  return { user_id: (await session.get('user_id')) ?? null, counter: (await session.get('counter')) ?? 0 }
}

async function increment(session: Session<Data>): Promise<Response> {
  session.insert('counter', ((await session.get('counter')) ?? 0) + 1)
  return Response.json(await counterOf(session))
}

const GET: Record<string, Action> = {
  untouched: () => new Response('hello'),
  counter: async (_request, session) => Response.json(await counterOf(session)),
  // A store outage under onStoreError 'error': the handler's read throws, uncaught.
  note: async (_request, session) => Response.json({ note: (await session.get('note')) ?? null }),
  'set-note': (request, session) => (session.insert('note', request.nextUrl.searchParams.get('note') ?? ''), new Response('noted')),
}

const POST: Record<string, Action> = {
  do_something: (_request, session) => increment(session),
  login: async (request, session) => {
    const body = (await request.json()) as { user_id: string }
    session.insert('user_id', body.user_id)
    session.renew()
    return Response.json(await counterOf(session))
  },
  logout: async (_request, session) => {
    const id = await session.get('user_id')
    if (id === undefined) return new Response('not logged in', { status: 401 })
    session.purge()
    return new Response(`Welcome ${id}!`)
  },
  // Next's redirect() throws; the session commits into the 307 it stands for.
  'login-redirect': (_request, session, name) => {
    session.insert('user_id', 'ferris')
    session.renew()
    redirect(`/r/${name}/counter`)
  },
  // Response.redirect() has immutable headers: the session commits into a copy.
  'login-redirect-returned': (request, session, name) => {
    session.insert('user_id', 'ferris')
    session.renew()
    return Response.redirect(new URL(`/r/${name}/counter`, request.url), 302)
  },
  'fail-after-insert': (_request, session) => (session.insert('counter', 1), new Response('unavailable', { status: 503 })),
  'logout-then-503': (_request, session) => (session.purge(), new Response('unavailable', { status: 503 })),
  'logout-then-throw': (_request, session) => {
    session.purge()
    throw new Error('next test: a plain error thrown after purge() (expected in this test)')
  },
  'insert-then-throw': (_request, session) => {
    session.insert('counter', 7)
    throw new Error('next test: a plain error thrown after insert() (expected in this test)')
  },
  'logout-then-401': (_request, session) => {
    session.purge()
    unauthorized()
  },
  'insert-then-401': (_request, session) => {
    session.insert('counter', 7)
    unauthorized()
  },
  'insert-then-404': (_request, session) => {
    session.insert('counter', 8)
    notFound()
  },
}

function serve(actions: Record<string, Action>): (request: NextRequest, context: Context) => Promise<Response> {
  return async (request, context) => {
    const { profile: name, action } = await context.params
    const sessions = profile(name)
    const run = actions[action]
    if (sessions === undefined || run === undefined) return new Response('no such route', { status: 404 })
    return sessions.route<NextRequest, Context>((req, session) => run(req, session, name))(request, context)
  }
}

export const dynamic = 'force-dynamic'
const getHandler = serve(GET)
const postHandler = serve(POST)
export { getHandler as GET, postHandler as POST }
