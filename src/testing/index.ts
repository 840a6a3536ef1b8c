export { defineStoreConformance } from './store-conformance.js'
export type { ConformanceTestApi, StoreConformanceOptions } from './store-conformance.js'
