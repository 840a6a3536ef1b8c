import { appSessions } from '../../lib/profiles'

export const dynamic = 'force-dynamic'

// The other mistake: sessions.write() from a server component. It must throw before the store is
// written, or the renew would kill the id the browser keeps.
export default async function ReadOnlyWritePage() {
  await appSessions().write((session) => session.renew())
  return <p>unreachable</p>
}
