/**
 * Histograms aggregated here instead of by the OpenTelemetry metrics SDK, for the measurements
 * taken on every call (invocation and host-call durations, queue wait, HTTP request durations).
 * The SDK hashes the attribute set of each record to find its series, and that was the largest
 * cost of metrics on a loaded host (about 5% of its CPU in the bus benchmark's profile). Here the
 * caller finds its series once, by a key it already has, and a record is a bucket search and four
 * additions.
 *
 * The process's metric readers read them through {@link histogramProducer} (a `MetricProducer`,
 * the SDK's extension point for metrics kept elsewhere), so they reach the scrape endpoint and OTLP
 * like every other instrument. They are cumulative whatever temporality an exporter prefers, and
 * readers an embedder makes itself do not see them unless given the producer.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { CollectionResult, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { hrTime } from '@opentelemetry/core';

/** The most attribute sets one histogram keeps apart (the SDK's default cardinality limit). */
export const MAX_SERIES = 2000;

/** The series past {@link MAX_SERIES} share, as the SDK's do. */
const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** What a histogram is, as its readers describe it. */
export interface BucketHistogramOptions {
  /** What it measures, e.g. `Duration of actor invocations served by this host`. */
  description: string;
  /** UCUM unit, e.g. `s`. */
  unit: string;
  /** Inclusive upper bounds of its buckets, ascending (a last one, to +Inf, is implied). */
  bounds: readonly number[];
}

/** One attribute set of a {@link BucketHistogram}: its counts since it was first recorded. */
export class HistogramSeries {
  /** Per bucket; the last one counts values above every bound. */
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  readonly startTime: HrTime = hrTime();

  constructor(
    readonly attributes: Attributes,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Counts `value` in its bucket. */
  record(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** A histogram whose series its callers look up by their own keys. Made by {@link bucketHistogram}. */
export class BucketHistogram {
  readonly #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly options: BucketHistogramOptions,
  ) {}

  /** The series of `key` if it was made (see {@link series}). */
  find(key: string): HistogramSeries | undefined {
    return this.#series.get(key);
  }

  /**
   * The series of `key` (any string that tells attribute sets apart, such as their values joined),
   * made with `attributes` the first time; past {@link MAX_SERIES} keys, the overflow series.
   */
  series(key: string, attributes: Attributes): HistogramSeries {
    let series = this.#series.get(key);
    if (series) return series;
    const overflow = this.#series.size >= MAX_SERIES;
    if (overflow) {
      series = this.#series.get(OVERFLOW_KEY);
      if (series) return series;
    }
    series = new HistogramSeries(overflow ? OVERFLOW_ATTRIBUTES : attributes, this.options.bounds);
    this.#series.set(overflow ? OVERFLOW_KEY : key, series);
    return series;
  }

  /** Every series, for collection. */
  allSeries(): IterableIterator<HistogramSeries> {
    return this.#series.values();
  }
}

/** Every histogram of the process, by name. */
const histograms = new Map<string, BucketHistogram>();

/**
 * The process's histogram called `name`, made on first use: components that make their instruments
 * per instance (a host, a provider) share one, as they would share the SDK's instrument of a name.
 */
export function bucketHistogram(name: string, options: BucketHistogramOptions): BucketHistogram {
  let h = histograms.get(name);
  if (!h) histograms.set(name, (h = new BucketHistogram(name, options)));
  return h;
}

/** Reads every {@link bucketHistogram} of the process for a metric reader, cumulatively. */
export const histogramProducer: MetricProducer = {
  async collect(): Promise<CollectionResult> {
    // Loaded when first read: a process without metrics never loads the SDK.
    const [{ AggregationTemporality, DataPointType }, { emptyResource }] = await Promise.all([
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/resources'),
    ]);
    const endTime = hrTime();
    const data: MetricData[] = [];
    for (const h of histograms.values()) {
      const boundaries = [...h.options.bounds];
      const dataPoints = [...h.allSeries()].map((s) => ({
        attributes: s.attributes,
        startTime: s.startTime,
        endTime,
        value: {
          buckets: { boundaries, counts: [...s.counts] },
          count: s.count,
          sum: s.sum,
          ...(s.count > 0 ? { min: s.min, max: s.max } : {}),
        },
      }));
      if (dataPoints.length === 0) continue;
      data.push({
        descriptor: {
          name: h.name,
          description: h.options.description,
          unit: h.options.unit,
          valueType: ValueType.DOUBLE,
        },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints,
      });
    }
    return {
      // The reader keeps its own resource; this one is not read.
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'wasmesh', version: '0.1.0' }, metrics: data }],
      },
      errors: [],
    };
  },
};
