// OpenTelemetry's SDK wired for tests: spans to the SDK's InMemorySpanExporter, metrics to its
// InMemoryMetricExporter (read on demand with forceFlush), and an AsyncLocalStorage context
// manager, as @opentelemetry/sdk-trace-node would register, so a span started around a request is
// the active one in everything the request awaits.
import { AsyncLocalStorage } from 'node:async_hooks'
import { context, ROOT_CONTEXT, type Context, type ContextManager, type Meter, type Tracer } from '@opentelemetry/api'
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

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
  spans(): ReadableSpan[]
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
 * A tracer and a meter recording in memory, not registered globally.
 *
 * @example
 * ```ts
 * const kit = telemetryKit()
 * const { store, events } = otel(new MemoryStore(), { tracer: kit.tracer, meter: kit.meter })
 * ```
 */
export function telemetryKit(): TelemetryKit {
  const spans = new InMemorySpanExporter()
  const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const metering = new MeterProvider({ readers: [reader] })
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
        value: metric.dataPointType === DataPointType.HISTOGRAM ? (point.value as { count: number }).count : (point.value as number),
      }))
    },
    async close() {
      await Promise.all([tracing.shutdown(), metering.shutdown()])
    },
  }
}
