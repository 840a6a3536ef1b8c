export { PostgresStore } from './store.js'
export type { PostgresStoreOptions } from './store.js'
export type { PgPool, PgPoolClient, PgQuery, PgResult } from './types.js'
