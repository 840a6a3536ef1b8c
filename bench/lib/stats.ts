/**
 * Summaries of the passes of one (server, route): median and spread, and the cost over the bare
 * framework measured in the same run.
 *
 * @module
 */
import type { Route } from '../matrix.js'
import type { Sample, TargetResult } from './results.js'

/** Median and spread of one quantity over the passes. */
export interface Spread {
  median: number
  min: number
  max: number
}

/**
 * Median, minimum and maximum; NaN for no values.
 *
 * @example
 * ```ts
 * spread([3, 1, 2]) // { median: 2, min: 1, max: 3 }
 * ```
 */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const middle = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}

/** Everything the report says about one (server, route). */
export interface RouteSummary {
  rps: Spread
  p50Ms: Spread
  p99Ms: Spread
  cpuUs: Spread
  /** Server CPU µs per request over the bare framework's, per pass paired with the bare pass of the same number. */
  costUs: Spread
  /** The same cost judged from throughput: 1/rps − 1/rps(bare), µs. */
  throughputCostUs: Spread
  lost: number | undefined
  requests: number
  failures: number
  redis: Record<string, number> | undefined
}

const samplesOf = (result: TargetResult, route: Route): Sample[] => result.samples.filter((s) => s.route === route)

/**
 * Summarises one route of one server against its framework's bare server.
 *
 * @example
 * ```ts
 * const summary = summarize(result, '/counter', bareResult)
 * ```
 */
export function summarize(result: TargetResult, route: Route, bare: TargetResult | undefined): RouteSummary | undefined {
  const samples = samplesOf(result, route)
  if (samples.length === 0) return undefined
  const bareSamples = bare === undefined ? [] : bare.samples
  const bareCpu = spread(bareSamples.map((s) => s.cpuUsPerRequest)).median
  const bareRps = spread(bareSamples.map((s) => s.rps)).median
  const lostValues = samples.map((s) => s.lost).filter((v): v is number => v !== undefined)
  return {
    rps: spread(samples.map((s) => s.rps)),
    p50Ms: spread(samples.map((s) => s.p50Ms)),
    p99Ms: spread(samples.map((s) => s.p99Ms)),
    cpuUs: spread(samples.map((s) => s.cpuUsPerRequest)),
    costUs: spread(samples.map((s) => s.cpuUsPerRequest - bareCpu)),
    throughputCostUs: spread(samples.map((s) => 1e6 / s.rps - 1e6 / bareRps)),
    lost: lostValues.length === 0 ? undefined : lostValues.reduce((a, b) => a + b, 0),
    requests: samples.reduce((sum, s) => sum + s.requests, 0),
    failures: samples.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
    redis: result.redisCommands?.[route],
  }
}

/**
 * The noise of a framework's bare server: half the spread of its CPU time per request over the
 * passes, at least 1 µs (the resolution of the CPU clock over a run is about that).
 *
 * @example
 * ```ts
 * Math.abs(untouched.costUs.median) <= noiseOf(bare)
 * ```
 */
export function noiseOf(bare: TargetResult | undefined): number {
  if (bare === undefined) return Number.NaN
  const s = spread(bare.samples.map((sample) => sample.cpuUsPerRequest))
  return Math.max(1, s.max - s.min)
}
