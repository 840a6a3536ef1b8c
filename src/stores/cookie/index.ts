export { CookieStore } from './cookie-store.js'
export type { CookieStoreOptions } from './cookie-store.js'
