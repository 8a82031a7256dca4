/**
 * The operator's keyed work queue (no servers: it is plain in-process logic): a key is queued once
 * however often it is added, never handed to two workers at once (re-added while processing, it
 * runs again after), failing keys back off exponentially up to the cap, a sooner addAfter wins over
 * a later one, the token bucket limits the rate, and shutdown waits for work in flight up to its deadline.
 */
import { WorkQueue } from '@wasmesh/operator';

test('a key added many times is handed out once', async () => {
  const q = new WorkQueue();
  q.add('ns/a');
  q.add('ns/a');
  q.add('ns/b');
  q.add('ns/a');
  expect(await q.get()).toBe('ns/a');
  expect(await q.get()).toBe('ns/b');
  expect(q.length).toBe(2); // both being processed, nothing queued
  q.done('ns/a');
  q.done('ns/b');
  expect(q.length).toBe(0);
  await q.shutDown(100);
});

test('a key re-added while it is processed is handed out again only after done()', async () => {
  const q = new WorkQueue();
  q.add('k');
  expect(await q.get()).toBe('k');
  q.add('k');
  let second: string | undefined;
  const next = q.get().then((k) => (second = k));
  await new Promise((r) => setTimeout(r, 50));
  expect(second).toBeUndefined(); // not to a second worker while the first holds it
  q.done('k');
  await next;
  expect(second).toBe('k');
  q.done('k');
  await q.shutDown(100);
});

test('failures back off exponentially, capped; forget() resets', async () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('x'))).toEqual([10, 20, 40, 50, 50]);
  expect(q.failures('x')).toBe(5);
  q.forget('x');
  expect(q.addRateLimited('x')).toBe(10);
  // Queued once, however many retries were scheduled (the soonest timer wins).
  expect(await q.get()).toBe('x');
  expect(q.length).toBe(1);
  q.done('x');
  await q.shutDown(100);
});

test('a sooner addAfter replaces a later one; add() beats both', async () => {
  const q = new WorkQueue();
  q.addAfter('k', 10_000);
  q.addAfter('k', 20);
  const started = Date.now();
  expect(await q.get()).toBe('k');
  expect(Date.now() - started).toBeLessThan(5000);
  q.done('k');
  q.addAfter('k', 10_000);
  q.add('k');
  expect(await q.get()).toBe('k');
  q.done('k');
  await q.shutDown(100);
});

test('the token bucket limits how fast keys are handed out', async () => {
  const q = new WorkQueue({ qps: 20, burst: 2 });
  for (let i = 0; i < 5; i++) q.add(`k${i}`);
  const started = Date.now();
  for (let i = 0; i < 5; i++) q.done((await q.get())!);
  // Two from the burst, three more at 20 per second: at least ~150 ms.
  expect(Date.now() - started).toBeGreaterThanOrEqual(120);
  await q.shutDown(100);
});

test('shutdown releases waiting workers and waits for work in flight up to its deadline', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  expect(await q.shutDown(100)).toBe(true);
  expect(await waiting).toBeUndefined();

  const busy = new WorkQueue();
  busy.add('slow');
  expect(await busy.get()).toBe('slow');
  setTimeout(() => busy.done('slow'), 50);
  expect(await busy.shutDown(5000)).toBe(true);

  const stuck = new WorkQueue();
  stuck.add('stuck');
  await stuck.get();
  expect(await stuck.shutDown(50)).toBe(false);
  stuck.add('late');
  expect(await stuck.get()).toBeUndefined();
});
