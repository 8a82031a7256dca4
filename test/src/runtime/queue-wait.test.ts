/**
 * Every invocation's queue wait (how long it waited for its actor's concurrency permit and a pool
 * slot before its wasm started) reaches JS with its outcome, through `InvokeOptions.onQueueWait`:
 * about zero when nothing is contended, most of a slow call's run time for a call queued behind
 * it, the whole deadline for a call that timed out queued.
 */
import type { ActorRuntime } from '@wasmesh/host';
import { actorBytes, newRuntime } from './helpers.js';

let runtime: ActorRuntime;
beforeAll(() => {
  runtime = newRuntime();
});
afterAll(() => runtime.close());

/** A generous bound on an uncontended wait (it is microseconds; CI machines stall). */
const SMALL_S = 0.02;

test('an uncontended call reports about no wait, once, before it settles, failed or not', async () => {
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  const events: string[] = [];
  const waits: number[] = [];
  const onQueueWait = (seconds: number): void => {
    events.push('wait');
    waits.push(seconds);
  };
  for (let i = 0; i < 20; i++) {
    const out = await echo.invoke('Echo', Buffer.from(`call ${i}`), { onQueueWait }).then((b) => {
      events.push('settled');
      return b;
    });
    expect(out.toString()).toBe(`call ${i}`);
  }
  await expect(echo.invoke('NoSuchOperation', undefined, { onQueueWait })).rejects.toMatchObject({
    code: 'WASMESH_ERR_UNKNOWN_OPERATION',
  });
  expect(waits).toHaveLength(21);
  expect(events.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'wait' : 'settled')));
  for (const w of waits) {
    expect(w).toBeGreaterThanOrEqual(0);
    expect(w).toBeLessThan(SMALL_S);
  }
});

test('with maxConcurrent 1, a call queued behind a slow one waits most of its run time', async () => {
  const runMs = 300;
  let running: () => void = () => {};
  const firstRuns = new Promise<void>((r) => (running = r));
  const single = await runtime.load(
    actorBytes('testbed'),
    { name: 'single', maxConcurrent: 1 },
    {
      hostCall: () => {
        running();
        return new Promise((resolve) => setTimeout(() => resolve(Buffer.from('done')), runMs));
      },
    },
  );
  const waits = { first: [] as number[], second: [] as number[], late: [] as number[] };
  const hook = (into: number[]) => (seconds: number) => void into.push(seconds);
  const first = single.invoke('Forward', Buffer.from('a'), { timeoutMs: 5000, onQueueWait: hook(waits.first) });
  await firstRuns;
  // The first's run (its host call) has just begun: the others queue behind all of it.
  const queued = performance.now();
  const second = single.invoke('Forward', Buffer.from('b'), { timeoutMs: 5000, onQueueWait: hook(waits.second) });
  // Its deadline passes before the first is done: it waited the whole deadline.
  const late = single.invoke('Forward', Buffer.from('c'), { timeoutMs: 100, onQueueWait: hook(waits.late) });
  await expect(late).rejects.toMatchObject({ code: 'WASMESH_ERR_TIMEOUT', details: { queued: true } });
  expect((await first).toString()).toBe('done');
  const firstDoneS = (performance.now() - queued) / 1000;
  expect((await second).toString()).toBe('done');

  expect(waits.first).toHaveLength(1);
  expect(waits.first[0]).toBeLessThan(SMALL_S);
  expect(waits.second).toHaveLength(1);
  // Most of the first's run, and no longer than until JS saw the first done.
  expect(waits.second[0]).toBeGreaterThanOrEqual(0.8 * (runMs / 1000));
  expect(waits.second[0]).toBeLessThanOrEqual(firstDoneS);
  expect(waits.late).toHaveLength(1);
  expect(waits.late[0]).toBeGreaterThanOrEqual(0.1 - 0.002);
  expect(waits.late[0]).toBeLessThan(runMs / 1000);
});

test('a hook that throws does not keep any invocation of its batch from settling', async () => {
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  const throwing = (): void => {
    throw new Error('metrics broke');
  };
  const outs = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      echo.invoke('Echo', Buffer.from(String(i)), i % 2 === 0 ? { onQueueWait: throwing } : {}),
    ),
  );
  expect(outs.map((b) => b.toString())).toEqual(Array.from({ length: 16 }, (_, i) => String(i)));
});
