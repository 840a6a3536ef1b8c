// The app's session configurations. A route handler picks one by the first segment of its path
// (/r/<profile>/<action>), so one build serves every case of the test: each store in each content
// security mode, custom cookie attributes, refresh on every request, a store outage, and the
// cookie-store sessions the edge middleware reads.
import { cookies, headers } from 'next/headers'
import { CookieStore, MemoryStore, type SessionOptions, type SessionStore } from 'cloakroom'
import { nextSessions, type NextSessions } from 'cloakroom/next'
import { edgeOptions } from './edge-options'
import { SwitchableStore } from './switchable-store'

export type Data = { user_id?: string; counter?: number; visits?: number; note?: string }

export const KEYS = [process.env.SESSION_KEY as string]

// One instance of each for the whole server, however many bundles import this module.
const shared = globalThis as typeof globalThis & { cloakroomNextTest?: Map<string, NextSessions<Data>> }
const profiles = (shared.cloakroomNextTest ??= new Map())

function make(name: string): (NextSessions<Data> & { store: SessionStore }) | undefined {
  const quiet = { debug: () => {}, warn: () => {}, error: () => {} }
  let options: Omit<SessionOptions<Data>, 'keys'> | undefined
  if (name === 'memory-private' || name === 'app') options = { store: new MemoryStore(), contentSecurity: 'private' }
  else if (name === 'memory-signed') options = { store: new MemoryStore(), contentSecurity: 'signed' }
  else if (name === 'cookie-private') options = { store: new CookieStore(), contentSecurity: 'private' }
  else if (name === 'cookie-signed') options = { store: new CookieStore(), contentSecurity: 'signed' }
  else if (name === 'custom') {
    options = { store: new MemoryStore(), cookie: { name: 'actix-test', path: '/r/', domain: 'example.com' }, lifecycle: { type: 'persistent', ttl: 60 } }
  } else if (name === 'every') options = { store: new MemoryStore(), lifecycle: { type: 'persistent', ttl: 60, extendOn: 'every-request' } }
  else if (name === 'outage') options = { store: new SwitchableStore(new MemoryStore()), logger: quiet }
  else if (name === 'anonymous') options = { store: new SwitchableStore(new MemoryStore()), logger: quiet, onStoreError: 'anonymous' }
  else if (name === 'edge') options = edgeOptions()
  if (options === undefined) return undefined
  const sessions = nextSessions<Data>({ ...options, keys: KEYS, cookies, headers })
  return Object.assign(sessions, { store: options.store })
}

/** The sessions of the profile called `name`, or `undefined` for an unknown name. */
export function profile(name: string): NextSessions<Data> | undefined {
  let found = profiles.get(name)
  if (found === undefined) {
    found = make(name)
    if (found !== undefined) profiles.set(name, found)
  }
  return found
}

/** The store behind the profile called `name`. */
export function storeOf(name: string): SessionStore | undefined {
  return (profile(name) as (NextSessions<Data> & { store?: SessionStore }) | undefined)?.store
}

/** The sessions of the pages and server actions (the browser test logs in through them). */
export const appSessions = (): NextSessions<Data> => profile('app') as NextSessions<Data>
