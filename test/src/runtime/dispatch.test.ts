/**
 * The hand-off between the JS thread and the runtime's workers (host/runtime/napi/src/dispatch.rs):
 * a worker lingers for a lone caller's next call, JS looks for outcomes at the end of each turn
 * without a wake-up call, and neither may strand a call, whatever the mix of concurrency, errors
 * and log lines. A stranded call shows as a loop that never ends (the test times out).
 */
import type { ActorRuntime } from '@wasmesh/host';
import { actorBytes, captureLogger, newRuntime } from './helpers.js';

let runtime: ActorRuntime;
beforeAll(() => {
  runtime = newRuntime();
});
afterAll(() => runtime.close());

/** Runs `calls` invocations in `concurrency` closed loops (each completion issues the next). */
async function closedLoops(concurrency: number, calls: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < calls) await call(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

test('closed loops at every concurrency, switching back and forth, all complete with their own answers', async () => {
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  for (const concurrency of [1, 2, 3, 4, 8, 1, 16, 2, 64, 1]) {
    await closedLoops(concurrency, 2_000, async (i) => {
      const payload = Buffer.from(`call ${concurrency}/${i}`);
      expect((await echo.invoke('Echo', payload)).toString()).toBe(payload.toString());
    });
  }
  expect(runtime.stats().instancesInUse).toBeLessThanOrEqual(1);
}, 60_000);

test('failures and guest log lines mixed with results in closed loops are all delivered', async () => {
  const { logger, lines } = captureLogger();
  const tb = await runtime.load(actorBytes('testbed'), { name: 'tb' }, { logger });
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  let logged = 0;
  for (const concurrency of [1, 4, 1]) {
    await closedLoops(concurrency, 600, async (i) => {
      if (i % 3 === 0) {
        expect((await tb.invoke('Log', Buffer.from(`line ${concurrency}/${i}`))).toString()).toBe('logged');
        logged++;
      } else if (i % 3 === 1) {
        await expect(tb.invoke('NoSuchOperation')).rejects.toMatchObject({ code: 'WASMESH_ERR_UNKNOWN_OPERATION' });
      } else {
        expect((await echo.invoke('Echo', Buffer.from([i % 256]))).equals(Buffer.from([i % 256]))).toBe(true);
      }
    });
  }
  // A call's log lines reach JS before its outcome.
  expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('testbed says: line'))).toHaveLength(logged);
}, 60_000);

test('a lone caller pausing longer than a worker lingers is still answered', async () => {
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  for (const pauseMs of [0, 1, 0, 5, 0, 20]) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    expect((await echo.invoke('Echo', Buffer.from('after a pause'))).toString()).toBe('after a pause');
  }
});

test('without spinning (spinWaitUs 0) workers never linger and every call is still answered', async () => {
  const quiet = newRuntime({ spinWaitUs: 0 });
  try {
    const echo = await quiet.load(actorBytes('echo'), { name: 'echo' });
    for (const concurrency of [1, 4, 1]) {
      await closedLoops(concurrency, 500, async (i) => {
        expect((await echo.invoke('Echo', Buffer.from(String(i)))).toString()).toBe(String(i));
      });
    }
  } finally {
    quiet.close();
  }
}, 60_000);

test('host calls travel in the batches too: each, among others at every concurrency, gets its own answer', async () => {
  for (const spinWaitUs of [undefined, 0]) {
    const rt = newRuntime(spinWaitUs === undefined ? {} : { spinWaitUs });
    try {
      // The handler answers some at once, some later, and fails every fifth: each call its own way.
      const tb = await rt.load(
        actorBytes('testbed'),
        { name: 'tb', maxConcurrent: 64 },
        {
          hostCall: async ({ operation, payload }) => {
            const n = Number(Buffer.from(payload).toString());
            if (n % 5 === 0) throw new Error(`refused ${n}`);
            if (n % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
            return Buffer.from(`${operation}:${n}`);
          },
        },
      );
      for (const concurrency of [1, 8, 64, 1]) {
        await closedLoops(concurrency, 400, async (i) => {
          const call = tb.invoke('CallContract', Buffer.from(`x:test/default/Op/${i}`));
          if (i % 5 === 0) await expect(call).rejects.toThrow(`refused ${i}`);
          else expect((await call).toString()).toBe(`Op:${i}`);
        });
      }
    } finally {
      rt.close();
    }
  }
}, 60_000);

test('a host call answered after its invocation timed out is dropped; later calls are unaffected', async () => {
  let release: () => void = () => {};
  const late = new Promise<void>((resolve) => (release = resolve));
  const tb = await runtime.load(
    actorBytes('testbed'),
    { name: 'tb-late' },
    {
      hostCall: async ({ payload }) => {
        if (Buffer.from(payload).toString() === 'slow') await late;
        return Buffer.from(payload);
      },
    },
  );
  await expect(
    tb.invoke('CallContract', Buffer.from('x:test/default/Op/slow'), { timeoutMs: 200 }),
  ).rejects.toMatchObject({ code: 'WASMESH_ERR_TIMEOUT' });
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect((await tb.invoke('CallContract', Buffer.from('x:test/default/Op/fast'))).toString()).toBe('fast');
});
