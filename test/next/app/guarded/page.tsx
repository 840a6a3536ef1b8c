import { profile } from '../../lib/profiles'

export const dynamic = 'force-dynamic'

// Behind the edge middleware: it reads, on Node, the cookie the middleware just re-sealed with WebCrypto.
export default async function GuardedPage() {
  const session = await profile('edge')!.read()
  return (
    <main>
      <p id="guarded">
        Guarded page for {(await session.get('user_id')) ?? 'nobody'}, visit {(await session.get('visits')) ?? 0}.
      </p>
    </main>
  )
}
