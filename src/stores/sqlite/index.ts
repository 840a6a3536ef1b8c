export { SqliteStore } from './store.js'
export type { DeleteExpiredOptions } from './store.js'
export type { SqliteStoreOptions } from './options.js'
export type { SqliteDatabase, SqliteStatement } from './database.js'
