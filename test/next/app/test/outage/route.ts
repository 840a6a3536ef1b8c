// Test control: breaks or mends the store of a profile (POST { profile, broken }).
import { storeOf } from '../../../lib/profiles'
import { SwitchableStore } from '../../../lib/switchable-store'

export async function POST(request: Request): Promise<Response> {
  const { profile, broken } = (await request.json()) as { profile: string; broken: boolean }
  const store = storeOf(profile)
  if (!(store instanceof SwitchableStore)) return new Response('not a switchable profile', { status: 400 })
  store.broken = broken
  return new Response(null, { status: 204 })
}
