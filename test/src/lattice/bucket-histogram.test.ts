/**
 * The histograms wasmesh aggregates itself (bucket-histogram.ts): values land in the bucket whose
 * inclusive upper bound first holds them, series past the cardinality limit share the overflow
 * series, and a metric reader given the producer reads them as OpenTelemetry histograms, which the
 * Prometheus serializer writes as `_bucket`, `_sum` and `_count` lines.
 */
import { describe, expect, it } from '@jest/globals';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { bucketHistogram, histogramProducer, MAX_SERIES, withUnitSuffixes } from '@wasmesh/lattice';

describe('bucketHistogram', () => {
  it('counts each value in the first bucket whose bound holds it, with sum, min and max', () => {
    const h = bucketHistogram('test.bucket.values', { description: 'values', unit: 's', bounds: [1, 2, 5] });
    const s = h.series('a', { which: 'a' });
    for (const v of [0.5, 1, 1.5, 2, 4.9, 5, 7]) s.record(v);
    expect(s.counts).toEqual([2, 2, 2, 1]);
    expect(s.count).toBe(7);
    expect(s.sum).toBeCloseTo(21.9);
    expect(s.min).toBe(0.5);
    expect(s.max).toBe(7);
    expect(h.find('a')).toBe(s);
    expect(h.series('a', { which: 'other' })).toBe(s);
  });

  it('is one per name in a process, as the SDK instrument of a name is', () => {
    const options = { description: 'shared', unit: 's', bounds: [1] };
    expect(bucketHistogram('test.bucket.shared', options)).toBe(bucketHistogram('test.bucket.shared', options));
  });

  it(`keeps ${MAX_SERIES} attribute sets apart and counts the rest in one overflow series`, () => {
    const h = bucketHistogram('test.bucket.cardinality', { description: 'many', unit: 's', bounds: [1] });
    for (let i = 0; i < MAX_SERIES + 50; i++) h.series(`k${i}`, { k: i }).record(0.5);
    const all = [...h.allSeries()];
    expect(all).toHaveLength(MAX_SERIES + 1);
    const overflow = all.find((s) => s.attributes['otel.metric.overflow'] === true);
    expect(overflow?.count).toBe(50);
  });

  it('reaches a metric reader through the producer, as a cumulative histogram in Prometheus text', async () => {
    const h = bucketHistogram('test.bucket.read', { description: 'read by a reader', unit: 's', bounds: [0.01, 0.1] });
    const s = h.series('GET', { method: 'GET' });
    s.record(0.005);
    s.record(0.05);
    s.record(3);
    const reader = new (class extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    })({ metricProducers: [histogramProducer] });
    const provider = new MeterProvider({ readers: [reader] });
    try {
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const text = new PrometheusSerializer('', false, undefined, false, true).serialize(
        withUnitSuffixes(resourceMetrics),
      );
      expect(text).toContain('# TYPE test_bucket_read_seconds histogram');
      expect(text).toMatch(/^test_bucket_read_seconds_bucket\{method="GET",le="0\.01"\} 1$/m);
      expect(text).toMatch(/^test_bucket_read_seconds_bucket\{method="GET",le="0\.1"\} 2$/m);
      expect(text).toMatch(/^test_bucket_read_seconds_bucket\{method="GET",le="\+Inf"\} 3$/m);
      expect(text).toMatch(/^test_bucket_read_seconds_count\{method="GET"\} 3$/m);
      expect(text).toMatch(/^test_bucket_read_seconds_sum\{method="GET"\} 3\.055$/m);
    } finally {
      await provider.shutdown();
    }
  });
});
