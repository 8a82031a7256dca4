/**
 * `wasmesh call <actor-id> <operation>`: invokes an actor wherever it runs in the lattice and
 * writes the response bytes to stdout.
 */
import { Option, type Command } from 'commander';
import { bytesJson, payloadFrom } from '@wasmesh/lattice';
import { examples, latticeOptions, printJson, withLattice, type LatticeOptions } from '../common.js';
import { checkActorId } from '../lattice-ops.js';

interface CallOptions extends LatticeOptions {
  data?: string;
  dataFile?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Registers `call` on `program`. */
export function registerCall(program: Command): void {
  examples(
    latticeOptions(
      program
        .command('call')
        .description('invoke an operation of an actor running in the lattice; the response bytes go to stdout')
        .argument('<actor-id>', 'the actor id')
        .argument('<operation>', 'operation name, e.g. Echo or Greeter.SayHello')
        .addOption(new Option('--data <string>', 'request payload as a UTF-8 string').conflicts('dataFile'))
        .option('--data-file <path>', 'request payload from a file (bytes as they are)'),
      { defaultMs: DEFAULT_TIMEOUT_MS, help: 'deadline of the invocation in ms' },
    ),
    [
      'wasmesh call echo Echo --data "hello"',
      'wasmesh call greeter Greeter.SayHello --data-file request.bin > response.bin',
      'wasmesh call fib Fib --data 30 --timeout-ms 500 --json',
    ],
    'With --json: {ok, actor, operation, durationMs, response: {encoding: "utf8"|"base64", data}}.\n' +
      'No host running the actor is WASMESH_ERR_NO_RESPONDERS (exit status 5); actor errors exit 3,\n' +
      'a passed deadline exits 4.',
  ).action(async (id: string, operation: string, opts: CallOptions) => {
    const actorId = checkActorId(id);
    const payload = await payloadFrom(opts);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    await withLattice(opts, async (client) => {
      const started = process.hrtime.bigint();
      const response = await client.invoke(actorId, operation, payload, { timeoutMs, source: 'cli' });
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (opts.json) {
        printJson({ ok: true, actor: actorId, operation, durationMs, response: bytesJson(response) });
      } else {
        process.stdout.write(response);
      }
    });
  });
}
