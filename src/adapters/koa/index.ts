/**
 * Koa middleware (Koa 2 and 3): `app.use(sessions(options))`, then `ctx.session` (or
 * `ctx.state.session`) downstream.
 *
 * @module
 */
export { sessions, getSession } from './sessions.js'
