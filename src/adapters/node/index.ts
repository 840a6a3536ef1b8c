/**
 * Plain node:http: `http.createServer(withSessions(options, (req, res, session) => …))`, and
 * `getSession(req)` anywhere the request is at hand.
 *
 * @module
 */
export { withSessions, getSession, type NodeSessionOptions, type SessionRequestHandler } from './with-sessions.js'
