/**
 * The shape of `results/raw.json`, which `run.ts` writes and `report.ts` reads.
 *
 * @module
 */
import type { Route, Target } from '../matrix.js'

/** One measured run of one route on one server. */
export interface Sample {
  route: Route
  pass: number
  requests: number
  non2xx: number
  errors: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** Server CPU time (user + system, all threads) per request, µs. */
  cpuUsPerRequest: number
  /** Counter writes answered 2xx but missing from the counters read back (rotation over all sessions). */
  lost?: number
}

/** Everything measured on one server. */
export interface TargetResult {
  target: Target
  samples: Sample[]
  /** `/counter` with many connections on a few sessions: how many answered writes were lost. */
  contention?: { sessions: number; requests: number; lost: number }
  /** Redis commands the server sent per request, by route and command (from MONITOR, Lua-internal ones left out). */
  redisCommands?: Partial<Record<Route, Record<string, number>>>
  /** Resident memory at the end, bytes. */
  rssBytes?: number
  error?: string
}

/** The whole run. */
export interface RunResults {
  startedAt: string
  finishedAt: string
  settings: { sessions: number; connections: number; seconds: number; passes: number; pinned: boolean; warmupSeconds: number }
  machine: {
    cpu: string
    cores: number
    memoryGiB: number
    os: string
    node: string
    /** The 1-minute load average when the run started and when it ended: how busy the machine was. */
    load?: { start: number; end: number }
  }
  versions: Record<string, string>
  results: TargetResult[]
}
