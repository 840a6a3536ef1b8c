import { appSessions } from '../../lib/profiles'
import { insertThenThrow, logout, logoutThenThrow } from '../actions'

export const dynamic = 'force-dynamic'

// A server component: it reads the session, read-only.
export default async function AccountPage() {
  const session = await appSessions().read()
  const user = await session.get('user_id')
  const counter = (await session.get('counter')) ?? 0
  return (
    <main>
      <p id="status">{user === undefined ? 'Not signed in.' : `Signed in as ${user}.`}</p>
      <p id="counter">counter: {counter}</p>
      <form action={logout} id="logout">
        <button type="submit">Sign out</button>
      </form>
      <form action={logoutThenThrow} id="logout-then-throw">
        <button type="submit">Sign out, then fail</button>
      </form>
      <form action={insertThenThrow} id="insert-then-throw">
        <button type="submit">Count, then fail</button>
      </form>
    </main>
  )
}
