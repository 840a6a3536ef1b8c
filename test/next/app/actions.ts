'use server'
// The server actions of the test app: each changes the session through sessions.write(), which
// commits through cookies() before the action's answer leaves.
import { redirect } from 'next/navigation'
import { appSessions } from '../lib/profiles'

export async function login(form: FormData): Promise<void> {
  const user = String(form.get('user') ?? '')
  await appSessions().write((session) => {
    session.insert('user_id', user)
    session.renew()
  })
  redirect('/account')
}

// The redirect thrown inside the change: the session commits first (as for a 303), then it goes on.
export async function loginRedirectInside(form: FormData): Promise<void> {
  const user = String(form.get('user') ?? '')
  await appSessions().write((session) => {
    session.insert('user_id', user)
    session.renew()
    redirect('/account')
  })
}

export async function logout(): Promise<void> {
  await appSessions().write((session) => session.purge())
  redirect('/login')
}

// A plain error after a purge: the purge still commits (the record is deleted, the cookie cleared).
export async function logoutThenThrow(): Promise<void> {
  await appSessions().write((session) => {
    session.purge()
    throw new Error('next test: a plain error thrown after purge() in a server action (expected in this test)')
  })
}

// A plain error after an insert: nothing commits.
export async function insertThenThrow(): Promise<void> {
  await appSessions().write((session) => {
    session.insert('counter', 99)
    throw new Error('next test: a plain error thrown after insert() in a server action (expected in this test)')
  })
}
