/**
 * Hono middleware: `app.use(sessions(options))`, then `c.get('session')` in any handler.
 *
 * @module
 */
export { sessions, getSession, type SessionVariables, type SessionEnv } from './sessions.js'
