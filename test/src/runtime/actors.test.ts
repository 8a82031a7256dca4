/**
 * The example actors and third-party waPC guests run on the runtime as users expect.
 */
import { examples } from '@wasmesh/proto';
import type { ActorRuntime } from '@wasmesh/host';
import { actorBytes, captureLogger, eventually, fixtureBytes, newRuntime } from './helpers.js';

let runtime: ActorRuntime;
beforeAll(() => {
  runtime = newRuntime();
});
afterAll(() => runtime.close());

test('echo returns its input byte for byte', async () => {
  const echo = await runtime.load(actorBytes('echo'), { name: 'echo' });
  const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
  expect(Buffer.compare(await echo.invoke('Echo', payload), payload)).toBe(0);
  expect((await echo.invoke('Echo')).length).toBe(0);
});

test('hello greets by name in text and through the protobuf Greeter contract', async () => {
  const hello = await runtime.load(actorBytes('hello'), { name: 'hello' });
  expect((await hello.invoke('SayHello', Buffer.from('Ada'))).toString()).toBe('Hello, Ada!');
  expect((await hello.invoke('SayHello')).toString()).toBe('Hello, World!');

  const req = examples.HelloRequest.encode({ name: 'Grace Hopper ✓' }).finish();
  const reply = examples.HelloReply.decode(await hello.invoke('Greeter.SayHello', req));
  expect(reply.message).toBe('Hello, Grace Hopper ✓!');
});

test('hello rejects a malformed protobuf request with a guest error naming the problem', async () => {
  const hello = await runtime.load(actorBytes('hello'), { name: 'hello' });
  // field 1, wire type LEN, declared length 50 but only 2 bytes follow
  await expect(hello.invoke('Greeter.SayHello', Buffer.from([0x0a, 50, 0x41, 0x42]))).rejects.toMatchObject({
    code: 'WASMESH_ERR_GUEST_ERROR',
    message: expect.stringContaining('invalid HelloRequest: length 50 past the end'),
  });
});

test('fib computes fib(n) and rejects bad input', async () => {
  const fib = await runtime.load(actorBytes('fib'), { name: 'fib' });
  expect((await fib.invoke('Fib', Buffer.from('30'))).toString()).toBe('832040');
  expect((await fib.invoke('Fib', Buffer.from('0'))).toString()).toBe('0');
  expect((await fib.invoke('Fib', Buffer.from('1'))).toString()).toBe('1');
  await expect(fib.invoke('Fib', Buffer.from('x1'))).rejects.toMatchObject({ code: 'WASMESH_ERR_GUEST_ERROR' });
  await expect(fib.invoke('Fib', Buffer.from('46'))).rejects.toMatchObject({
    code: 'WASMESH_ERR_GUEST_ERROR',
    message: expect.stringContaining('at most 45'),
  });
});

test('an actor built with the third-party @wapc/as-guest SDK runs unchanged, with host calls and logs', async () => {
  const { logger, lines } = captureLogger();
  const calls: string[] = [];
  const guest = await runtime.load(
    fixtureBytes('wapc-as-guest'),
    { name: 'third-party' },
    {
      logger,
      hostCall: async ({ binding, namespace, operation, payload }) => {
        calls.push(`${binding}/${namespace}.${operation}`);
        return Buffer.from(Buffer.from(payload).toString().toUpperCase());
      },
    },
  );
  expect((await guest.invoke('Greet', Buffer.from('ada'))).toString()).toBe('Hello, ADA!');
  expect(calls).toEqual(['myBinding/sample.Shout']);
  await eventually(() => expect(lines.map((l) => l.msg)).toContain('greeting ada'));
  // Its own unknown-operation wording is recognised too.
  await expect(guest.invoke('Nope')).rejects.toMatchObject({ code: 'WASMESH_ERR_UNKNOWN_OPERATION' });
});

test('a WASI guest gets _start then wapc_init, stdout in the log, clocks and random, and no args, env or files', async () => {
  const { logger, lines } = captureLogger();
  const guest = await runtime.load(fixtureBytes('wasi-guest'), { name: 'wasi' }, { logger });
  for (let round = 0; round < 2; round++) {
    const out = await guest.invoke('Anything');
    const words = Array.from({ length: 8 }, (_, i) => out.readInt32LE(i * 4));
    expect(words).toEqual([
      12, // _start ran, then wapc_init, in a fresh instance every time
      0, // fd_write to stdout succeeded
      0, // argc
      0, // environ count
      0, // random_get ok
      0, // clock_time_get ok
      1, // the clock is past the epoch
      8, // fd_prestat_get(3) = EBADF: no preopened directories
    ]);
  }
  await eventually(() => expect(lines.filter((l) => l.msg === 'hello from wasi stdout')).toHaveLength(2));
});

test('the testbed forwards guest log lines to the injected logger with the actor name', async () => {
  const { logger, lines } = captureLogger();
  const tb = await runtime.load(actorBytes('testbed'), { name: 'tb' }, { logger });
  expect((await tb.invoke('Log', Buffer.from('hi'))).toString()).toBe('logged');
  await eventually(() =>
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'testbed says: hi', stream: 'guest' })),
  );
});

test('guest logs are a budget: a guest flooding __console_log gets its bytes per call and no more', async () => {
  const { logger, lines } = captureLogger();
  const tb = await runtime.load(actorBytes('testbed'), { name: 'flood', maxLogBytes: 256 * 1024 }, { logger });
  const started = Date.now();
  // 20,000 lines of 64 KiB: 1.3 GB of log without the budget.
  expect((await tb.invoke('LogFlood', Buffer.from('20000'))).toString()).toBe('flooded');
  expect(Date.now() - started).toBeLessThan(5000);
  await eventually(() =>
    expect(lines.filter((l) => /over the call's budget were dropped/.test(String(l.msg)))).toHaveLength(1),
  );
  expect(lines.filter((l) => String(l.msg).length === 64 * 1024)).toHaveLength(4);
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: expect.stringMatching(/^19996 guest log lines \(1310457856 bytes\)/) }),
  );
});

test('guest logs are a rate per actor: calls each within their budget cannot flood the log together', async () => {
  const { logger, lines } = captureLogger();
  const line = 64 * 1024;
  const tb = await runtime.load(
    actorBytes('testbed'),
    { name: 'chatty', maxLogBytes: line, maxLogBytesPerSecond: line },
    { logger },
  );
  const started = Date.now();
  // 40 calls of one 64 KiB line each: every call is within its own budget.
  for (let i = 0; i < 40; i++) expect((await tb.invoke('LogFlood', Buffer.from('1'))).toString()).toBe('flooded');
  const seconds = (Date.now() - started) / 1000;
  const forwarded = () => lines.filter((l) => String(l.msg).length === line).length;
  // A burst of one second of rate, then the rate itself.
  expect(forwarded()).toBeGreaterThanOrEqual(1);
  expect(forwarded()).toBeLessThanOrEqual(1 + Math.ceil(seconds));
  await eventually(() =>
    expect(
      lines.filter((l) => /guest log rate of 65536 bytes\/s for this actor is exceeded/.test(String(l.msg))),
    ).toHaveLength(1),
  );
  expect(lines.filter((l) => /over the call's budget/.test(String(l.msg)))).toHaveLength(0);
  // Once the bucket refills, lines flow again and the loss is reported in one line.
  const before = forwarded();
  await new Promise((r) => setTimeout(r, 1100));
  await tb.invoke('LogFlood', Buffer.from('1'));
  await eventually(() => expect(forwarded()).toBe(before + 1));
  expect(lines).toContainEqual(
    expect.objectContaining({
      msg: `${40 - before} guest log lines (${(40 - before) * line} bytes) over the actor's log rate were dropped`,
    }),
  );
});

test('host calls carry the hostContext of the invocation that made them', async () => {
  const seen: unknown[] = [];
  const tb = await runtime.load(
    actorBytes('testbed'),
    { name: 'ctx' },
    {
      hostCall: async ({ context, payload }) => {
        seen.push(context);
        return payload;
      },
    },
  );
  const calls = Array.from({ length: 20 }, (_, i) =>
    tb.invoke('Forward', Buffer.from(String(i)), { hostContext: { call: i } }),
  );
  const out = await Promise.all(calls);
  expect(out.map((b) => b.toString())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  expect(seen).toHaveLength(20);
  expect(new Set(seen.map((c) => (c as { call: number }).call)).size).toBe(20);
  expect(await tb.invoke('Forward', Buffer.from('none'))).toEqual(Buffer.from('none'));
  expect(seen[20]).toBeUndefined();
});
