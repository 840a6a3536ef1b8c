/**
 * Conformance suites that any store or adapter — ours or a third party's — can run with vitest,
 * node:test or any runner of the same shape.
 *
 * @module
 */
export { defineStoreConformance } from './store-conformance.js'
export type { ConformanceTestApi, StoreConformanceOptions } from './store-conformance.js'
export { defineAdapterConformance } from './adapter-conformance.js'
export type { AdapterConformanceOptions, AdapterHarness, AppRoute, RouteResult, RunningApp, StoreFactory } from './adapter-conformance.js'
export { defineRevocationListConformance, type RevocationListConformanceOptions } from './revocation-conformance.js'
