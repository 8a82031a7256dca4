#!/usr/bin/env node
/**
 * `wasmesh-host`: the host-side commands (those that run wasm in this process). The `wasmesh` CLI
 * forwards `run` and `inspect` here, so the CLI itself never loads the native runtime.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { intFlag, keyValueFlag, PROVIDER_MODES, runServiceBin } from '@wasmesh/lattice';
import { inspectCommand } from '../commands/inspect.js';
import { runCommand } from '../commands/run.js';
import { hostCommand, type HostCommandOptions } from '../commands/host.js';

/** `--trusted-issuer KEY` (repeatable), shared by `run` and `host`. */
const TRUSTED_ISSUER_FLAG = [
  '--trusted-issuer <account-key>',
  'run only actors signed by this account key, A… (repeatable; env WASMESH_TRUSTED_ISSUERS, comma separated)',
  (key: string, previous: string[] | undefined) => [...(previous ?? []), key],
] as const;

const program = new Command('wasmesh').description('run and inspect wasmesh actors locally');

program
  .command('run')
  .description('load an actor and invoke one operation; the response bytes go to stdout')
  .argument('<file.wasm>', 'the actor module')
  .argument('<operation>', 'operation name, e.g. SayHello or Greeter.SayHello')
  .addOption(new Option('--data <string>', 'request payload as a UTF-8 string').conflicts('dataFile'))
  .option('--data-file <path>', 'request payload from a file (bytes as they are)')
  .option('--timeout-ms <n>', 'deadline of the invocation in ms (default 10000)', intFlag('--timeout-ms', 1, 3_600_000))
  .option('--max-memory-mb <n>', 'linear memory cap in MiB (default 64)', intFlag('--max-memory-mb', 1, 4096))
  .option('--fuel <n>', 'fuel budget (deterministic metering; slower)', intFlag('--fuel', 1, Number.MAX_SAFE_INTEGER))
  .option('--no-cache', 'do not read or write the precompiled-artifact cache')
  .option(
    '--pull-timeout-ms <n>',
    'deadline of a whole oci:// pull, in ms; past it the start or update fails with WASMESH_ERR_TIMEOUT (env WASMESH_PULL_TIMEOUT_MS, default 60000)',
    intFlag('--pull-timeout-ms', 100, 3_600_000),
  )
  .option(...TRUSTED_ISSUER_FLAG)
  .option('--json', 'print a JSON object instead of the raw response', false)
  .addHelpText(
    'after',
    `
Examples:
  $ wasmesh run actors/build/hello.wasm SayHello --data World
  Hello, World!
  $ wasmesh run actors/build/fib.wasm Fib --data 30 --timeout-ms 500
  $ wasmesh run actors/build/echo.wasm Echo --data-file request.bin > response.bin
  $ wasmesh run actors/build/hello.wasm SayHello --data Ada --json
  $ wasmesh run signed.wasm SayHello --trusted-issuer ACZ…   # only if signed by that account

A module with claims runs only if they are valid (signature, hash, dates); with --trusted-issuer
(or WASMESH_TRUSTED_ISSUERS) it must also be signed by one of those issuers.
Exit status: 0 ok, 2 usage error, 3 actor error (guest error, trap, unknown operation,
invalid module), 4 limit (timeout, memory, fuel, response size), 7 untrusted actor
(WASMESH_ERR_UNTRUSTED_ACTOR), 1 internal error.`,
  )
  .action(async (file: string, operation: string, opts: Parameters<typeof runCommand>[2]) => {
    await runCommand(file, operation, opts);
  });

program
  .command('inspect')
  .description(
    'show the kind (core module or component), imports, exports, size, hash and claims of a binary, and whether it is a valid actor',
  )
  .argument('<file.wasm>', 'the module')
  .option('--json', 'print a JSON object', false)
  .addHelpText(
    'after',
    `
Examples:
  $ wasmesh inspect actors/build/echo.wasm
  $ wasmesh inspect some.wasm --json | jq .validActor
  $ wasmesh inspect signed.wasm --json | jq .claims.verdict

Claims (wascap format, signed with \`wasmesh sign\` or wasmCloud's wash) are shown with their verdict:
valid, invalid, tampered (signature or module hash), expired or not yet valid; unsigned modules
have "claims: none" (null in --json).`,
  )
  .action(async (file: string, opts: { json: boolean }) => {
    await inspectCommand(file, opts);
  });

program
  .command('host')
  .description('run a lattice host in the foreground until SIGINT/SIGTERM, then drain')
  .option('--nats <url>', 'NATS server URL (env WASMESH_NATS_URL, default nats://127.0.0.1:4222)')
  .option('--creds <file>', 'host credentials (wasmesh creds create --role host; env WASMESH_NATS_CREDS)')
  .option('--tls-ca <file>', "CA certificate of the NATS server's TLS (env WASMESH_NATS_CA)")
  .option('--lattice <name>', 'lattice to join (env WASMESH_LATTICE, default "default")')
  .option(
    '--label <key=value>',
    'a host label (repeatable; env WASMESH_LABEL_<KEY>=value adds more)',
    keyValueFlag('--label'),
    {},
  )
  .option('--seed <nkey-seed>', 'nkey server seed (SN…) for a stable host id (env WASMESH_HOST_SEED)')
  .option('--heartbeat-ms <n>', 'heartbeat interval in ms (default 2000)', intFlag('--heartbeat-ms', 100, 300_000))
  .option(
    '--max-concurrent <n>',
    'default max concurrent invocations per actor (default 64)',
    intFlag('--max-concurrent', 1, 100_000),
  )
  .option(
    '--provider-health-ms <n>',
    'how often supervised providers are asked for their health, in ms (env WASMESH_PROVIDER_HEALTH_MS, default 5000)',
    intFlag('--provider-health-ms', 100, 3_600_000),
  )
  .option(
    '--allow-dir <dir>',
    `a directory the host reads actor modules and provider entry modules from (repeatable; env WASMESH_ALLOW_DIRS, separated by "${path.delimiter}"); without any, the host reads no files, only sha256: artifacts`,
    (dir: string, previous: string[] | undefined) => [...(previous ?? []), dir],
  )
  .option(
    '--max-module-bytes <n>',
    'largest module file read from an allowed directory (env WASMESH_MAX_MODULE_BYTES, default 64 MiB)',
    intFlag('--max-module-bytes', 1, 2 ** 31 - 1),
  )
  .option(
    '--insecure-registry <host[:port]>',
    'an OCI registry pulled from over plain HTTP although not on loopback (repeatable; env WASMESH_INSECURE_REGISTRIES, comma separated)',
    (registry: string, previous: string[] | undefined) => [...(previous ?? []), registry],
  )
  .option(
    '--pull-timeout-ms <n>',
    'deadline of a whole oci:// pull, in ms; past it the start or update fails with WASMESH_ERR_TIMEOUT (env WASMESH_PULL_TIMEOUT_MS, default 60000)',
    intFlag('--pull-timeout-ms', 100, 3_600_000),
  )
  .addOption(
    new Option(
      '--provider-mode <mode>',
      'where built-in providers run when their start names no mode: inside this process (calls with its actors skip NATS) or each in a process of its own (env WASMESH_PROVIDER_MODE, default in-process)',
    ).choices([...PROVIDER_MODES]),
  )
  .option(
    '--no-local-dispatch',
    'send every call over NATS, even between actors and providers in this process (env WASMESH_LOCAL_DISPATCH=0)',
  )
  .option(
    '--metrics-listen <host:port>',
    'serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, printed when ready); its provider processes serve theirs on free ports of the same host (env WASMESH_METRICS_LISTEN)',
  )
  .option(...TRUSTED_ISSUER_FLAG)
  .option('--json', 'print the host identity as one JSON line when ready', false)
  .addHelpText(
    'after',
    `
Examples:
  $ wasmesh host --allow-dir .
  $ wasmesh host --label zone=eu-1 --label tier=gpu --lattice staging --allow-dir /srv/wasm
  $ WASMESH_NATS_URL=nats://10.0.0.5:4222 wasmesh host --json
  $ wasmesh host --trusted-issuer ACZ… --trusted-issuer ADQ…     # only actors signed by these accounts
  $ wasmesh host --insecure-registry registry.lan:5000           # oci:// pulls over plain HTTP there
  $ wasmesh host --pull-timeout-ms 120000                        # a slow registry: allow 2 min per pull
  $ wasmesh host --provider-mode process                         # built-in providers isolated in processes
  $ wasmesh host --metrics-listen 127.0.0.1:9464                 # Prometheus scrapes /metrics there
  $ OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 wasmesh host   # traces and metrics over OTLP

Requests name files only inside the --allow-dir directories (after resolving links and ..), and
only regular files; a host without --allow-dir runs modules pushed to the lattice (sha256:) and
builtin: providers only. Modules named oci://REGISTRY/REPO:TAG (or …@sha256:…) are pulled with the
docker config file's credentials (env DOCKER_CONFIG), verified, and cached by digest in
~/.cache/wasmesh/oci (env WASMESH_OCI_CACHE_DIR); a tag is resolved again on every start and update. With --trusted-issuer, unsigned actors, actors of other issuers and
actors whose claims are tampered, expired or not yet valid are refused (WASMESH_ERR_UNTRUSTED_ACTOR).`,
  )
  .action(async (opts: HostCommandOptions) => {
    await hostCommand(opts);
  });

await runServiceBin('wasmesh-host', program);
