/**
 * The `wasmesh` command tree. Each command documents itself with examples (`wasmesh <cmd> --help`).
 */
import { Command } from 'commander';
import { registerActorCommands } from './commands/actor.js';
import { registerAppCommands } from './commands/app.js';
import { registerCall } from './commands/call.js';
import { registerGetClaims } from './commands/claims.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfigCommands } from './commands/config.js';
import { registerCredsCommands } from './commands/creds.js';
import { registerGet } from './commands/get.js';
import { registerTop } from './commands/top.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerLinkCommands } from './commands/link.js';
import { registerNew } from './commands/new.js';
import { registerObserveCommands } from './commands/observe.js';
import { registerProviderCommands } from './commands/provider.js';
import { registerPush } from './commands/push.js';
import { registerSign } from './commands/sign.js';
import { registerUpCommands } from './commands/up.js';
import { FORWARDED_COMMANDS } from './service-bins.js';

/**
 * Builds the top-level program. The commands of the services (host, reconciler, gateway) and
 * those that run wasm are listed here and executed by the services' own bins (service-bins.ts);
 * lattice commands run here. `onError` renders commander's own errors (unknown option, missing
 * argument…); by default they are written as they are.
 */
export function buildProgram(onError?: (message: string) => void): Command {
  const program = new Command('wasmesh')
    .description('wasmesh: a distributed actor mesh for WebAssembly')
    .version('0.1.0')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ wasmesh up                                                    # a local lattice: NATS + a host (Ctrl-C stops)
  $ wasmesh run actors/build/hello.wasm SayHello --data World      # locally, no lattice
  $ wasmesh inspect actors/build/echo.wasm --json
  $ wasmesh host --label zone=a                                   # join the lattice (another shell)
  $ wasmesh get hosts
  $ wasmesh get hosts --nats nats://10.0.0.5:4222 --timeout-ms 2000   # give up after 2 s
  $ REF=$(wasmesh push actors/build/echo.wasm)
  $ wasmesh start actor "$REF" --id echo --constraint zone=a
  $ wasmesh call echo Echo --data hello
  $ wasmesh scale actor echo 3
  $ wasmesh update actor echo "$(wasmesh push actors/build/hello.wasm)"
  $ wasmesh get inventory --json
  $ wasmesh stop actor echo
  $ wasmesh start provider builtin:keyvalue --id kv
  $ wasmesh config put counter-kv prefix=counter/
  $ wasmesh link put counter kv wasmesh:keyvalue --config counter-kv
  $ wasmesh get links
  $ wasmesh app deploy deploy/apps/kvcounter-local.yaml           # an app, kept running by the reconciler
  $ wasmesh events                                                # live lattice events
  $ wasmesh spy echo                                              # live calls into and out of an actor
  $ wasmesh keys gen account --out issuer.nk                      # an issuer key for signing actors
  $ wasmesh sign echo.wasm --issuer-seed issuer.nk -o echo.signed.wasm --cap wasmesh:actor
  $ wasmesh new actor --lang ts greeter                            # an actor in TypeScript (a component)

Lattice commands take --nats URL (env WASMESH_NATS_URL, default nats://127.0.0.1:4222),
--creds FILE and --tls-ca FILE (env WASMESH_NATS_CREDS, WASMESH_NATS_CA; next to \`wasmesh up\` they
are found by themselves), --lattice NAME (env WASMESH_LATTICE, default "default") and --timeout-ms N:
every one has a deadline (connecting takes at most 5 s; see each command's --help for its default).
Exit status: 0 ok, 1 internal error, 2 usage error, 3 actor or provider failure, 4 limit (timeout…),
5 lattice unavailable (no NATS, nobody answered), 6 not found (host, actor, artifact, provider,
link, config), 7 denied (untrusted actor, missing capability, permission).
Run 'wasmesh <command> --help' for a command's flags and examples.`,
    );
  if (onError) program.configureOutput({ outputError: (str) => onError(str) });
  for (const [name, { description }] of Object.entries(FORWARDED_COMMANDS)) {
    program.command(name).description(description).helpOption(false).allowUnknownOption().allowExcessArguments();
  }
  registerGet(program);
  registerTop(program);
  registerGetClaims(program);
  registerCredsCommands(program);
  registerPush(program);
  registerActorCommands(program);
  registerProviderCommands(program);
  registerLinkCommands(program);
  registerConfigCommands(program);
  registerCall(program);
  registerObserveCommands(program);
  registerUpCommands(program);
  registerAppCommands(program);
  registerKeysCommands(program);
  registerSign(program);
  registerNew(program);
  registerCompletion(program);
  return program;
}
