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

/** A span a host printed with the console exporter. */
interface PrintedSpan {
  name: string;
  traceId: string;
  id: string | undefined;
  parentSpanId: string | undefined;
}

/** Spans a host printed with the console exporter: name, trace id, id and parent of each. */
function spans(stdout: string): PrintedSpan[] {
  const out: PrintedSpan[] = [];
  for (const block of stdout.split(/\n(?=\{)/)) {
    const traceId = /traceId: '([0-9a-f]{32})'/.exec(block)?.[1];
    const name = /\n\s*name: '([^']+)'/.exec(block)?.[1];
    const id = /\n\s*id: '([0-9a-f]{16})'/.exec(block)?.[1];
    const parentSpanId = /parentSpanContext:[^}]*spanId: '([0-9a-f]{16})'/s.exec(block)?.[1];
    if (traceId && name) out.push({ name, traceId, id, parentSpanId });
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

test('a call by local dispatch (both actors on one host) continues the trace: serve is the child of invoke', async () => {
  const [a] = lat.hosts as [NonNullable<(typeof lat.hosts)[0]>];
  await lat.client.control.startActor({ hostId: a.hostId, actorId: 'relay-1', artifactRef: actorPath('testbed') });
  await lat.client.control.startActor({ hostId: a.hostId, actorId: 'echo-1', artifactRef: actorPath('echo') });
  const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: '10f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const out = await context.with(parent, () => lat.client.invoke('relay-1', 'Relay', Buffer.from('echo-1/Echo/local')));
  expect(Buffer.from(out).toString()).toBe('local');
  const ours = (): PrintedSpan[] => spans(a.stdout()).filter((s) => s.traceId === traceId);
  await until('host a to export the spans of the local call', () => ours().some((s) => s.name === 'serve echo-1'));
  const invoke = ours().find((s) => s.name === 'invoke echo-1.Echo');
  const serve = ours().find((s) => s.name === 'serve echo-1');
  expect(invoke?.id).toMatch(/^[0-9a-f]{16}$/);
  expect(serve?.parentSpanId).toBe(invoke?.id);
  expect(ours().find((s) => s.name === 'serve relay-1')?.parentSpanId).toBe('10f067aa0ba902b7');
}, 60_000);
