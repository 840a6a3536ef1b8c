export { CookieStore } from './cookie-store.js'
