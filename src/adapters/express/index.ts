/**
 * Express middleware (Express 4 and 5): `app.use(sessions(options))`, then `req.session` in any
 * handler, or `getSession(req)` anywhere the request is at hand.
 *
 * @module
 */
export { sessions, getSession } from './sessions.js'
