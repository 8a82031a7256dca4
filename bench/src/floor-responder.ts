/**
 * Child process of the bus bench's floor case: a plain nats.js responder that answers every request
 * on a subject with the request's own bytes. Usage:
 *   node floor-responder.js <natsUrl> <subject> [<credsFile> <caFile>]
 * (with credentials and a CA: the same over TLS with authentication, the secure floor).
 * Prints `ready` on stdout once the server has its subscription. Drains and exits when its stdin
 * closes (the bench finished, or died) or on SIGTERM; exits 1 if the connection closes on its own.
 */
import { connectNats } from '@wasmesh/lattice';

async function main(): Promise<void> {
  const [url, subject, creds = '', tlsCa = ''] = process.argv.slice(2);
  if (!url || !subject) {
    process.stderr.write('usage: floor-responder.js <natsUrl> <subject>\n');
    process.exit(2);
  }
  const nc = await connectNats({ servers: url, creds, tlsCa, name: 'wasmesh-bench-floor-responder', reconnect: false });
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        process.stderr.write(`floor responder: subscription error: ${err.message}\n`);
        return;
      }
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    nc.drain().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.stdout.write('ready\n');
  const err = await nc.closed();
  if (!stopping) {
    process.stderr.write(`floor responder: connection closed${err ? `: ${err.message}` : ''}\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`floor responder failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
