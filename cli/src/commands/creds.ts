/**
 * `wasmesh creds`: NATS credentials for the roles of a secured lattice, issued from the authority
 * `wasmesh up` keeps under its home (`<home>/auth`), and what a NATS operator needs to run the
 * lattice on a server of their own.
 *
 *   creds create --role R [--lattice L] [--name N] --out FILE   issue credentials
 *   creds show FILE                                              what a credentials file is for
 *   creds server-config                                          the operator/accounts config block
 *   creds gateway-cert --role R --out PREFIX                     a gRPC gateway client certificate
 *   creds k8s-secrets [--namespace NS] [--values-out FILE]       the Helm chart's NATS Secrets
 *
 * `create --role host --group` issues one file for many hosts (a HostGroup's pods, a fleet from
 * one image): each host mints credentials of its own id from it at start, so they never share an
 * id. The price, stated in the help: whoever holds that file can act as any host of the lattice.
 *
 * A credential for a lattice that has no account yet creates the account; when `wasmesh up` runs
 * from the same home, its nats-server is told to reload its config, so the new lattice works at once.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from '@nats-io/nkeys';
import { Option, type Command } from 'commander';
import {
  checkToken,
  DEFAULT_LATTICE,
  ensureServerTls,
  intFlag,
  readCredentials,
  ROLES,
  UsageError,
  WasmeshError,
  type Role,
} from '@wasmesh/lattice';
import { commandGroup, examples, note, printJson } from '../common.js';
import { registerGatewayCert } from './gateway-cert.js';
import { registerK8sSecrets } from './k8s-secrets.js';
import { localAuthority, writeNatsConfig } from '../local/security.js';
import { alive, readUpState, resolveHome } from '../local/state.js';

interface CreateOptions {
  role: Role;
  lattice: string;
  name?: string;
  out: string;
  force?: boolean;
  group?: boolean;
  expiresInDays?: number;
  home?: string;
  json?: boolean;
}

/** What each role is for, in help and `show`. */
const ROLE_HELP: Record<Role, string> = {
  admin: 'everything in the lattice (CLI, gateway, reconciler)',
  reader: 'get, events, spy: nothing that changes state',
  host: 'a host: its own control subjects, actors, events as itself; mints its providers’ credentials',
  provider: 'one provider id: its rpc and health subjects, events as itself (hosts issue these themselves)',
  app: 'application messaging outside the lattice’s own subjects (NATS clients talking to actors)',
};

/** Tells the nats-server of a running `wasmesh up` in `home` about new accounts. */
async function reloadLocalServer(home: string): Promise<boolean> {
  const state = readUpState(home);
  if (!state || !state.secure || !alive(state.natsPid)) return false;
  const port = Number(/:(\d+)\/?$/.exec(state.natsUrl)?.[1]);
  const tls = await ensureServerTls(path.join(home, 'tls'));
  writeNatsConfig(home, port, await localAuthority(home).serverConfig(tls));
  process.kill(state.natsPid, 'SIGHUP');
  return true;
}

function registerCreate(group: Command): void {
  const cmd = group
    .command('create')
    .description('issue NATS credentials of a role in a lattice')
    .addOption(new Option('--role <role>', 'the role').choices([...ROLES]).makeOptionMandatory())
    .addOption(new Option('--lattice <name>', 'lattice').env('WASMESH_LATTICE').default(DEFAULT_LATTICE))
    .option(
      '--name <name>',
      'the user name: a host id (N…) for hosts, the provider id for providers, the group name with --group',
    )
    .option('--group', 'host credentials for many hosts: each mints its own host id from them (role host only)')
    .requiredOption('--out <file>', 'where to write the .creds file (mode 0600)')
    .option('--force', 'overwrite --out if it exists')
    .option(
      '--expires-in-days <n>',
      'expire after this many days (default: never)',
      intFlag('--expires-in-days', 1, 36_500),
    )
    .option('--home <dir>', 'the home whose authority issues them (default $WASMESH_HOME or ~/.wasmesh)')
    .option('--json', 'print {file, role, lattice, name, account, expiresAt} as JSON');
  examples(
    cmd,
    [
      'wasmesh creds create --role reader --out reader.creds',
      'wasmesh creds create --role host --lattice prod --out host-b.creds   # copy to the other machine',
      'wasmesh host --creds host-b.creds --tls-ca ca.pem --nats tls://10.0.0.5:4222',
      'wasmesh creds create --role app --out app.creds && nats --creds app.creds --tlsca ca.pem req demo.hello hi',
      'wasmesh creds create --role host --group --out fleet.creds   # one file for every host of a fleet',
    ],
    `Roles:\n${ROLES.map((r) => `  ${r.padEnd(9)}${ROLE_HELP[r]}`).join('\n')}\n` +
      'Credentials are secrets: anyone holding the file has the role. The CA to trust is <home>/tls/ca.pem.\n' +
      'Host-group credentials (--group) let their holder act as any host of the lattice: give them only to\n' +
      'hosts you run, such as the pods of a HostGroup (wasmesh creds k8s-secrets makes them for the chart).',
  ).action(async (opts: CreateOptions) => {
    checkToken('lattice name', opts.lattice);
    if (existsSync(opts.out) && !opts.force) throw new UsageError(`${opts.out} exists: pass --force to overwrite it`);
    if (opts.group && opts.role !== 'host') throw new UsageError(`--group is for --role host only, not ${opts.role}`);
    if (opts.role === 'host' && !opts.group && opts.name !== undefined && !/^N[A-Z2-7]{55}$/.test(opts.name)) {
      throw new UsageError(`--name of a host must be a host id (an nkey server public key, N…), got "${opts.name}"`);
    }
    const name =
      opts.name ?? (opts.group ? 'host-group' : opts.role === 'host' ? createServer().getPublicKey() : opts.role);
    checkToken('--name', name);
    const home = resolveHome(opts.home);
    const authority = localAuthority(home);
    const created = authority.ensureLattice(opts.lattice);
    const text = await authority.issue({
      lattice: opts.lattice,
      role: opts.role,
      name,
      ...(opts.group ? { group: true } : {}),
      ...(opts.expiresInDays ? { expiresInSec: opts.expiresInDays * 86_400 } : {}),
    });
    writeFileSync(opts.out, text, { mode: 0o600 });
    const reloaded = created ? await reloadLocalServer(home) : false;
    const c = readCredentials(opts.out);
    const result = {
      file: path.resolve(opts.out),
      role: opts.role,
      lattice: opts.lattice,
      name,
      group: opts.group === true,
      account: c.account,
      expiresAt: c.expiresAt ?? null,
      newLattice: created,
      serverReloaded: reloaded,
    };
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`${result.file}\n`);
      note(`${opts.role} credentials for lattice "${opts.lattice}" (name ${name})`);
      if (created && !reloaded) {
        note(`lattice "${opts.lattice}" is new: servers must load the new config (wasmesh creds server-config)`);
      }
    }
  });
}

function registerShow(group: Command): void {
  const cmd = group
    .command('show <file>')
    .description('what a credentials file is for: role, name, account, expiry')
    .option('--json', 'print as JSON');
  examples(cmd, ['wasmesh creds show ~/.wasmesh/creds/default-admin.creds']).action(
    (file: string, opts: { json?: boolean }) => {
      const c = readCredentials(file);
      const info = {
        file,
        role: c.role ?? null,
        name: c.name,
        userKey: c.userKey,
        account: c.account,
        expiresAt: c.expiresAt ?? null,
        carriesSigningKeys: Object.keys(c.signers),
      };
      if (opts.json) printJson(info);
      else {
        const lines = [
          `role      ${info.role ?? '(not issued by wasmesh)'}${info.role ? `: ${ROLE_HELP[info.role]}` : ''}`,
          `name      ${info.name}`,
          `user      ${info.userKey}`,
          `account   ${info.account}`,
          `expires   ${info.expiresAt ? new Date(info.expiresAt * 1000).toISOString() : 'never'}`,
          ...(info.carriesSigningKeys.length ? [`signs     ${info.carriesSigningKeys.join(', ')} credentials`] : []),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    },
  );
}

function registerServerConfig(group: Command): void {
  const cmd = group
    .command('server-config')
    .description("print the nats-server config block that trusts this home's authority (operator, accounts)")
    .option('--home <dir>', 'the home whose authority it is (default $WASMESH_HOME or ~/.wasmesh)');
  examples(
    cmd,
    ['wasmesh creds server-config > auth.conf   # then: include auth.conf in your nats-server config'],
    'Add TLS of your own (tls { cert_file, key_file }); reload the server after a new lattice is created.',
  ).action(async (opts: { home?: string }) => {
    const authority = localAuthority(resolveHome(opts.home));
    if (authority.lattices().length === 0) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        'no lattice has an account yet: run `wasmesh up` or `wasmesh creds create` first',
      );
    }
    process.stdout.write(await authority.serverConfig());
  });
}

/** Registers `creds create|show|server-config|gateway-cert|k8s-secrets` on `program`. */
export function registerCredsCommands(program: Command): void {
  const group = commandGroup(program, 'creds', 'NATS credentials of a secured lattice', [
    'wasmesh creds create --role reader --out reader.creds',
    'wasmesh creds show reader.creds',
    'wasmesh creds server-config',
    'wasmesh creds gateway-cert --role reader --out ops',
    'wasmesh creds k8s-secrets --values-out wasmesh-values.yaml | kubectl apply --server-side -f -',
  ]);
  registerCreate(group);
  registerShow(group);
  registerServerConfig(group);
  registerGatewayCert(group);
  registerK8sSecrets(group);
}
