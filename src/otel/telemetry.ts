import { metrics, trace, type Counter, type Histogram, type Meter, type Tracer } from '@opentelemetry/api'
import { DURATION_BUCKETS, SCOPE, SESSION_EVENTS, STORE_DURATION } from './names.js'

/**
 * Where cloakroom's spans and measurements go. Both default to the globally registered providers
 * (`trace.getTracer('cloakroom')`, `metrics.getMeter('cloakroom')`).
 *
 * @example
 * ```ts
 * const options: OtelOptions = { tracer: trace.getTracer('shop'), meter: metrics.getMeter('shop') }
 * ```
 */
export interface OtelOptions {
  /** The tracer store spans are started on. Default: the global tracer provider's `cloakroom` tracer. */
  tracer?: Tracer
  /**
   * The meter the instruments are created on. Default: the global meter provider's `cloakroom`
   * meter, looked up when the instruments are made: register your MeterProvider first (unlike
   * tracers, the API does not forward a meter taken before registration).
   */
  meter?: Meter
}

/** The tracer and the instruments one `otel()` call shares between its store and its events. */
export interface Telemetry {
  readonly tracer: Tracer
  readonly storeDuration: Histogram
  readonly sessionEvents: Counter
}

/** Creates the instruments on the chosen (or global) meter, and picks the tracer. */
export function telemetry(options: OtelOptions = {}): Telemetry {
  const meter = options.meter ?? metrics.getMeter(SCOPE)
  return {
    tracer: options.tracer ?? trace.getTracer(SCOPE),
    storeDuration: meter.createHistogram(STORE_DURATION, {
      description: 'Duration of session store calls.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    sessionEvents: meter.createCounter(SESSION_EVENTS, { description: 'Session lifecycle events.', unit: '{event}' }),
  }
}
