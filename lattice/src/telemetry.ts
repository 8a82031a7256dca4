/**
 * Process-wide OpenTelemetry setup, driven by the standard environment:
 *   OTEL_TRACES_EXPORTER = otlp | console | none (default none, unless an OTLP endpoint is set)
 *   OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (read by the OTLP exporter)
 *   OTEL_SERVICE_NAME (default: the name given here)
 * With exporting off, no SDK is loaded; trace context still propagates (see tracing.ts).
 */
import { trace } from '@opentelemetry/api';
import { enableContextManager, ensurePropagation } from './tracing.js';

/** Which exporter the environment asks for. */
export function tracesExporter(env: NodeJS.ProcessEnv = process.env): 'otlp' | 'console' | 'none' {
  const configured = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (configured === 'otlp' || configured === 'console' || configured === 'none') return configured;
  if (configured) return 'none';
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : 'none';
}

/** Sets up propagation and, if the environment asks, span export; returns a flush-and-shutdown function. */
export async function setupTelemetry(serviceName: string): Promise<() => Promise<void>> {
  ensurePropagation();
  const exporterKind = tracesExporter();
  if (exporterKind === 'none') return async () => {};
  enableContextManager();
  const [
    { NodeTracerProvider },
    { BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter },
    { resourceFromAttributes },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const processor =
    exporterKind === 'console'
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : new BatchSpanProcessor(new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [processor],
  });
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
  };
}
