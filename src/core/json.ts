/** A value JSON can carry unchanged. Session values are always of this type. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The data of one session: string keys to JSON values. */
export type SessionData = Record<string, Json>
