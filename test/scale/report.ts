/**
 * What the scale-out suite measured, per fault and per stack, and its table (printed at the end of
 * a run; docs/deploying.md quotes it).
 *
 * @module
 */
import type { Outcome, Verdict } from './load.js'

/**
 * One stack's figures through one fault.
 *
 * @example
 * ```ts
 * const row: PhaseFigures = figuresOf('kill -9', 'nr', outcomes, faultAt, verdict)
 * ```
 */
export interface PhaseFigures {
  readonly fault: string
  readonly stack: string
  readonly requests: number
  readonly failed: number
  /** First and last failed request, ms after the fault began (null: none failed). */
  readonly firstFailureMs: number | null
  readonly lastFailureMs: number | null
  /** Median and 99th percentile latency of the requests that succeeded, ms. */
  readonly p50: number
  readonly p99: number
  readonly verdict: Verdict
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number
}

/**
 * Sums up one stack's outcomes through a fault that began at `faultAt`.
 *
 * @example
 * ```ts
 * const figures = figuresOf('kill -9 of a primary', 'nr', load.outcomes('nr'), faultAt, verdict)
 * ```
 */
export function figuresOf(fault: string, stack: string, outcomes: readonly Outcome[], faultAt: number, verdict: Verdict): PhaseFigures {
  const failures = outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.at + outcome.ms - faultAt)
  const latencies = outcomes
    .filter((outcome) => outcome.ok)
    .map((outcome) => outcome.ms)
    .sort((a, b) => a - b)
  return {
    fault,
    stack,
    requests: outcomes.length,
    failed: failures.length,
    firstFailureMs: failures.length === 0 ? null : Math.min(...failures),
    lastFailureMs: failures.length === 0 ? null : Math.max(...failures),
    p50: Math.round(percentile(latencies, 0.5)),
    p99: Math.round(percentile(latencies, 0.99)),
    verdict,
  }
}

/**
 * The figures as a Markdown table.
 *
 * @example
 * ```ts
 * console.info(table(figures))
 * ```
 */
export function table(rows: readonly PhaseFigures[]): string {
  const seconds = (ms: number | null) => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`)
  const lines = [
    '| fault | stack | requests | failed | failures from → to (after the fault) | p50 / p99 ms | lost sessions | lost acked writes | logged-out readable | renewed-away valid |',
    '|---|---|--:|--:|---|--:|--:|--:|--:|--:|',
  ]
  for (const row of rows) {
    const { verdict: v } = row
    lines.push(
      `| ${row.fault} | ${row.stack} | ${row.requests} | ${row.failed} | ${row.failed === 0 ? 'none' : `${seconds(row.firstFailureMs)} → ${seconds(row.lastFailureMs)}`} | ${row.p50} / ${row.p99} | ${v.lostSessions} of ${v.checked.sessions} | ${v.lostWrites} | ${v.resurrected} of ${v.checked.logouts} | ${v.renewedAwayValid} of ${v.checked.renews} |`,
    )
  }
  return lines.join('\n')
}
