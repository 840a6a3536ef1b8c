// OpenTelemetry's SDK wired for tests: spans to the SDK's InMemorySpanExporter, metrics to its
// InMemoryMetricExporter (read on demand with forceFlush), and an AsyncLocalStorage context
// manager, as @opentelemetry/sdk-trace-node would register, so a span started around a request is
// the active one in everything the request awaits.
//
// The SDK (@opentelemetry/sdk-trace-base, @opentelemetry/sdk-metrics and what they pull in, about
// 20 MB) lives in a package of its own (package.json beside this file), installed by CI and by
// `npm --prefix test/otel ci`, not by the repository's `npm ci`; cloakroom itself needs only
// @opentelemetry/api, which stays in the repository's devDependencies. The SDK is loaded from that
// package at run time and typed here by the little the tests use, so that `npm run typecheck` does
// not need it installed.
import { AsyncLocalStorage } from 'node:async_hooks'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { context, ROOT_CONTEXT, type Attributes, type Context, type ContextManager, type Meter, type SpanContext, type SpanStatus, type Tracer } from '@opentelemetry/api'
import { needed } from '../support/needed.js'

const DIR = fileURLToPath(new URL('./', import.meta.url))

/** The command that installs the SDK's package, for messages. */
export const INSTALL_OTEL = 'npm --prefix test/otel ci'

/**
 * Whether the SDK's package is installed, for a test file that needs it: `false` after a loud
 * warning when it is not, and under `CI=true` an error instead, so a CI run cannot pass by skipping.
 *
 * @example
 * ```ts
 * const installed = findOtelSdk('the cloakroom/otel store tests (test/otel)')
 * describe.skipIf(!installed)('instrumentStore', () => { … })
 * ```
 */
export function findOtelSdk(what: string): boolean {
  // npm writes its hidden lockfile last, once every package is in place.
  const installed = existsSync(`${DIR}node_modules/.package-lock.json`)
  return needed(what, installed ? undefined : `the OpenTelemetry SDK's package (sdk-trace-base, sdk-metrics; about 20 MB) is not installed; \`${INSTALL_OTEL}\` installs it`)
}

/** A finished span, as the tests read it (the part of the SDK's `ReadableSpan` they use). */
export interface RecordedSpan {
  name: string
  attributes: Attributes
  status: SpanStatus
  events: { name: string; attributes?: Attributes }[]
  parentSpanContext?: SpanContext
  spanContext(): SpanContext
}

interface MetricPoint {
  attributes: Attributes
  value: unknown
}

interface ExportedMetrics {
  scopeMetrics: { metrics: { descriptor: { name: string }; dataPointType: number; dataPoints: MetricPoint[] }[] }[]
}

/** The part of @opentelemetry/sdk-trace-base that the tests use. */
interface SdkTraceBase {
  InMemorySpanExporter: new () => { getFinishedSpans(): RecordedSpan[] }
  SimpleSpanProcessor: new (exporter: object) => object
  BasicTracerProvider: new (config: { spanProcessors: object[] }) => { getTracer(name: string): Tracer; shutdown(): Promise<void> }
}

/** The part of @opentelemetry/sdk-metrics that the tests use. */
interface SdkMetrics {
  AggregationTemporality: { CUMULATIVE: number }
  DataPointType: { HISTOGRAM: number }
  InMemoryMetricExporter: new (temporality: number) => { reset(): void; getMetrics(): ExportedMetrics[] }
  PeriodicExportingMetricReader: new (options: { exporter: object; exportIntervalMillis: number }) => { forceFlush(): Promise<void> }
  MeterProvider: new (options: { readers: object[] }) => { getMeter(name: string): Meter; shutdown(): Promise<void> }
}

let sdk: { trace: SdkTraceBase; metrics: SdkMetrics } | undefined

/** Loads the SDK from this folder's package (once); throws with the install command when it is missing. */
function loadSdk(): { trace: SdkTraceBase; metrics: SdkMetrics } {
  if (sdk !== undefined) return sdk
  const require = createRequire(`${DIR}package.json`)
  try {
    sdk = { trace: require('@opentelemetry/sdk-trace-base') as SdkTraceBase, metrics: require('@opentelemetry/sdk-metrics') as SdkMetrics }
  } catch (error) {
    throw new Error(`the OpenTelemetry SDK's package is not installed (${INSTALL_OTEL})`, { cause: error })
  }
  return sdk
}

class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args))
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target
    return ((...args: unknown[]) => this.with(ctx, target as (...a: unknown[]) => unknown, undefined, ...args)) as T
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#storage.disable()
    return this
  }
}

/** One data point of a counter or a histogram, as the tests read them. */
export interface Point {
  attributes: Record<string, unknown>
  /** The counter's sum, or the histogram's count. */
  value: number
}

/** A tracer and a meter of their own, and what they recorded. */
export interface TelemetryKit {
  tracer: Tracer
  meter: Meter
  spans(): RecordedSpan[]
  /** The points of one instrument, cumulative since the kit was made. */
  points(name: string): Promise<Point[]>
  close(): Promise<void>
}

/** Registers the async context manager (once per test file); returns its removal. */
export function useAsyncContext(): () => void {
  const manager = new AsyncLocalContextManager()
  context.setGlobalContextManager(manager)
  return () => context.disable()
}

/**
 * A tracer and a meter recording in memory, not registered globally. Needs the SDK's package
 * ({@link findOtelSdk}).
 *
 * @example
 * ```ts
 * const kit = telemetryKit()
 * const { store, events } = otel(new MemoryStore(), { tracer: kit.tracer, meter: kit.meter })
 * ```
 */
export function telemetryKit(): TelemetryKit {
  const { trace, metrics } = loadSdk()
  const spans = new trace.InMemorySpanExporter()
  const tracing = new trace.BasicTracerProvider({ spanProcessors: [new trace.SimpleSpanProcessor(spans)] })
  const exporter = new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE)
  const reader = new metrics.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const metering = new metrics.MeterProvider({ readers: [reader] })
  return {
    tracer: tracing.getTracer('test'),
    meter: metering.getMeter('test'),
    spans: () => spans.getFinishedSpans(),
    async points(name) {
      exporter.reset()
      await reader.forceFlush()
      const metric = exporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
        .find((m) => m.descriptor.name === name)
      if (metric === undefined) return []
      return metric.dataPoints.map((point) => ({
        attributes: { ...point.attributes },
        value: metric.dataPointType === metrics.DataPointType.HISTOGRAM ? (point.value as { count: number }).count : (point.value as number),
      }))
    },
    async close() {
      await Promise.all([tracing.shutdown(), metering.shutdown()])
    },
  }
}
