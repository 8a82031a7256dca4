/**
 * W3C trace context travels through every hop: a caller's trace continues in the span the host
 * serves the call with, into an actor-to-actor call, and into the span of the host that serves
 * that. Hosts export spans only when the standard OTEL_* environment asks (here: console).
 */
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { enableContextManager } from '@wasmesh/lattice';
import { actorPath } from '../fixtures.js';
import { until, startLattice, type LatticeFixture } from './fixture.js';

let lat: LatticeFixture;

beforeAll(async () => {
  // The test continues its trace through context.with, so it needs the active-context manager.
  enableContextManager();
  const env = { OTEL_TRACES_EXPORTER: 'console' };
  lat = await startLattice({ hosts: [{ env }, { env }] });
}, 60_000);
afterAll(async () => lat?.[Symbol.asyncDispose]());

/** Spans a host printed with the console exporter: name and trace id of each. */
function spans(stdout: string): { name: string; traceId: string; parentSpanId: string | undefined }[] {
  const out: { name: string; traceId: string; parentSpanId: string | undefined }[] = [];
  for (const block of stdout.split(/\n(?=\{)/)) {
    const traceId = /traceId: '([0-9a-f]{32})'/.exec(block)?.[1];
    const name = /\n\s*name: '([^']+)'/.exec(block)?.[1];
    const parentSpanId = /parentSpanContext:[^}]*spanId: '([0-9a-f]{16})'/s.exec(block)?.[1];
    if (traceId && name) out.push({ name, traceId, parentSpanId });
  }
  return out;
}

test('a trace started by the caller continues through both hosts and the actor-to-actor call', async () => {
  const [a, b] = lat.hosts as [NonNullable<(typeof lat.hosts)[0]>, NonNullable<(typeof lat.hosts)[0]>];
  await lat.client.control.startActor({ hostId: a.hostId, actorId: 'relay', artifactRef: actorPath('testbed') });
  await lat.client.control.startActor({ hostId: b.hostId, actorId: 'echo', artifactRef: actorPath('echo') });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const out = await context.with(parent, () => lat.client.invoke('relay', 'Relay', Buffer.from('echo/Echo/traced')));
  expect(Buffer.from(out).toString()).toBe('traced');

  await until('both hosts to export their spans', () => {
    const names = [...spans(a.stdout()), ...spans(b.stdout())].filter((s) => s.traceId === traceId).map((s) => s.name);
    return names.includes('serve relay') && names.includes('serve echo') && names.includes('invoke echo.Echo');
  });
  const onA = spans(a.stdout()).filter((s) => s.traceId === traceId);
  const onB = spans(b.stdout()).filter((s) => s.traceId === traceId);
  expect(onA.map((s) => s.name)).toEqual(expect.arrayContaining(['serve relay', 'invoke echo.Echo']));
  expect(onB.map((s) => s.name)).toContain('serve echo');
  // The first hop's span is a child of the caller's span.
  expect(onA.find((s) => s.name === 'serve relay')?.parentSpanId).toBe('00f067aa0ba902b7');
}, 60_000);
