// An Express app moved off express-session + connect-redis, during the transition window
// (docs/migrating-from-express-session.md walks through it step by step).
//
//   SESSION_KEY=$(npx cloakroom keygen) OLD_SESSION_SECRET='the express-session secret' npx tsx examples/express-session-migration.ts
//
// A browser still holding a connect.sid cookie signed with OLD_SESSION_SECRET keeps its login: its
// first request moves the old session's data into a new cloakroom session, deletes the old record
// from Redis and clears connect.sid.
import express from 'express'
import type { AddressInfo } from 'node:net'
import { createClient } from 'redis'
// cloakroom's Express adapter first: express-session's types (which connect-redis brings along)
// declare req.session too, and the first declaration is the one TypeScript keeps.
import { getSession, sessions } from '../src/adapters/express/index.js'
import { expressSession } from '../src/migrations/express-session/index.js'
import { RedisStore } from '../src/stores/redis/index.js'
import { RedisStore as OldRedisStore } from 'connect-redis'

// What the app keeps in its session, in cloakroom: express-session's `cookie` is not carried over.
type Data = { user?: string; visits?: number }

const key = process.env.SESSION_KEY
const oldSecret = process.env.OLD_SESSION_SECRET
if (!key || !oldSecret) throw new Error('Set SESSION_KEY (npx cloakroom keygen) and OLD_SESSION_SECRET (the express-session secret).')

const client = await createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }).connect()

const app = express()
app.use(express.urlencoded({ extended: false }))
app.use(
  sessions<Data>({
    store: new RedisStore({ client, prefix: 'cloakroom:' }),
    keys: [key],
    lifecycle: { type: 'persistent', ttl: 14 * 86_400 },
    // Remove this option (and express-session, connect-redis) once the transition window is over.
    migrateFrom: expressSession({
      secret: oldSecret, // or the array express-session was given
      store: new OldRedisStore({ client }), // the store the old app used: same client, same prefix ('sess:')
      mapData: ({ cookie: _expressSessionCookie, userName, ...rest }) => ({ ...rest, user: userName ?? null }), // the old app said userName
    }),
    events: { migrated: () => console.log('an express-session user moved to cloakroom') },
  }),
)

app.get('/', async (req, res) => {
  const session = getSession<Data>(req)
  const visits = ((await session.get('visits')) ?? 0) + 1
  session.insert('visits', visits)
  res.json({ user: (await session.get('user')) ?? null, visits })
})
app.post('/login', (req, res) => {
  const session = getSession<Data>(req)
  session.insert('user', String(req.body.name ?? 'guest')) // was: req.session.userName = …
  session.renew() // was: req.session.regenerate(…)
  res.redirect(303, '/')
})
app.post('/logout', (req, res) => {
  getSession<Data>(req).purge() // was: req.session.destroy(…)
  res.redirect(303, '/')
})

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? 'localhost', () => {
  console.log(`listening on http://localhost:${(server.address() as AddressInfo).port}`)
})
