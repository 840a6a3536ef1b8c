// `npm start`: the demo on http://localhost:3000 (PORT to change it).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { generateKey } from '../src/crypto/keys.js'
import { demoApp } from './app.js'
import { openDemoStore } from './store.js'

const DEV_KEY_FILE = '.data/dev-session-key'

function sessionKey(): string {
  const fromEnv = process.env.SESSION_KEY
  if (fromEnv) return fromEnv
  if (!existsSync(DEV_KEY_FILE)) {
    mkdirSync('.data', { recursive: true })
    writeFileSync(DEV_KEY_FILE, generateKey() + '\n', { mode: 0o600 })
  }
  console.warn(
    [
      '',
      '  ⚠️  SESSION_KEY is not set: using a DEVELOPMENT key kept in ' + DEV_KEY_FILE + '.',
      '      Never run like this in production. Make a real key with `npx cloakroom keygen`',
      '      (or `npm run keygen`) and pass it as SESSION_KEY.',
      '',
    ].join('\n'),
  )
  return readFileSync(DEV_KEY_FILE, 'utf8').trim()
}

const { name, store, close } = await openDemoStore()
const app = demoApp({ store, keys: [sessionKey()] }, name)
const port = Number(process.env.PORT ?? 3000)
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? 'localhost' }, (info) => {
  console.log(`cloakroom demo (${name} store) listening on http://localhost:${info.port}`)
})

function shutdown(): void {
  server.close(() => void close().then(() => process.exit(0)))
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
