import { appSessions } from '../../lib/profiles'

export const dynamic = 'force-dynamic'

// A mistake the adapter must make loud: a write on the session a server component read.
export default async function ReadOnlyPage() {
  const session = await appSessions().read()
  session.insert('counter', 1000)
  return <p>unreachable</p>
}
