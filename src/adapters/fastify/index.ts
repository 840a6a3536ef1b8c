/**
 * Fastify plugin: `app.register(sessions, options)`, then `request.session` in any route of that
 * scope. The plugin is also the default export.
 *
 * @module
 */
export { sessions, sessions as default, getSession } from './sessions.js'
