import { profile } from '../../lib/profiles'

export const dynamic = 'force-dynamic'

// sessions.write() that only reads, in a server component, under extendOn 'every-request': no
// error, and nothing committed (the refresh could not be sent from here).
export default async function ReadOnlyReadPage() {
  const counter = await profile('every')!.write(async (session) => (await session.get('counter')) ?? 0)
  return <p id="counter">counter: {counter}</p>
}
