/**
 * cloakroom: sessions for TypeScript web servers. The cookie is the claim ticket; the store keeps the coat.
 *
 * @module
 */
export { createSessionManager } from './create.js'
export { sessionFailure, type SessionManager } from './core/manager.js'
export type { Session, SessionOrigin, UserSession } from './core/session.js'
export type { RefusedReason, SessionEventMap, SessionEvents } from './core/events.js'
export { SessionStatus } from './core/status.js'
export type { SessionOptions, CookieOptions, BrowserLifecycle, PersistentLifecycle, ExtendOn } from './core/options.js'
export type { SessionEngine, HeaderView, ResponseView } from './core/engine.js'
export { commitToResponse } from './core/response-headers.js'
export type { Register, RegisteredData, RegisteredFlash, RegisterNotJson } from './core/register.js'
export type { Json, JsonSafe, JsonShape, NotJson, SessionData } from './core/json.js'
export type { Migrate, SessionSchema } from './core/data-rules.js'
export type { Logger } from './core/logger.js'
export type { SessionMigration } from './core/migration.js'
export type { ActixSessionOptions } from './actix/options.js'
export type { ActixKeyMode } from './actix/keys.js'
export type { StandardSchemaV1 } from './core/standard-schema.js'
export {
  GONE,
  EXPIRED,
  RENEWED,
  MARKER_WINDOW_MS,
  type Gone,
  type Expired,
  type Renewed,
  type Missing,
  type SessionStore,
  type SessionRecord,
  type SessionOwner,
  type UserSessionEntry,
  type RevokeSelection,
  type ChangeSet,
} from './core/store.js'
export { EVERYONE, type RevocationList, type RevocationMark } from './core/revocation.js'
export { applyChanges } from './core/change-set.js'
export {
  CloakroomError,
  ConfigError,
  CookieTooLargeError,
  SessionSchemaError,
  SessionCommittedError,
  SessionValueError,
  StoreError,
  type StoreErrorKind,
} from './core/errors.js'
export { generateKey } from './crypto/keys.js'
export { CookieStore, type CookieStoreOptions } from './stores/cookie/index.js'
export { MemoryStore, type MemoryStoreOptions } from './stores/memory/index.js'
