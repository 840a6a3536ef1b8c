/**
 * Moving an Express app off express-session without logging anyone out: `expressSession()` reads
 * its signed `connect.sid` cookies and its store's records, for cloakroom's `migrateFrom` option.
 *
 * @module
 */
export { expressSession, type ExpressSessionOptions } from './reader.js'
export type { ExpressSessionStore } from './old-store.js'
export type { ExpressSessionRecord } from './old-record.js'
export type { OldSecret } from './signed-cookie.js'
