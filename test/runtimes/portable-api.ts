import type { ConformanceTestApi } from '../../src/testing/store-conformance.js'

/**
 * The registration functions the portable cases use: the conformance suites' shape, so vitest's
 * `describe`/`it` or the portable runner's fit alike.
 *
 * @example
 * ```ts
 * const api: PortableApi = new PortableRunner().api
 * ```
 */
export type PortableApi = ConformanceTestApi
