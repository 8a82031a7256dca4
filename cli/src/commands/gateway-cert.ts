/**
 * `wasmesh creds gateway-cert --role R --out PREFIX`: a client certificate for the gRPC gateway
 * (`PREFIX.pem`, `PREFIX-key.pem`), signed by the CA `wasmesh up` keeps under `<home>/tls` — the
 * CA a gateway started by `up --gateway` (or with `--client-ca <home>/tls/ca.pem`) trusts. The
 * role is the certificate's subject OU: the gateway authorizes every call by it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { checkToken, intFlag, UsageError } from '@wasmesh/lattice';
import { examples, note, printJson } from '../common.js';
import { clientCertFiles, writeClientCert } from '../local/gateway-tls.js';
import { resolveHome } from '../local/state.js';

/** The roles the gateway honours, and what each may call. */
const GATEWAY_ROLES = {
  admin: 'every call',
  reader:
    'reads only: Ping, GetInventory, GetClaims, ListLinks, GetConfig, ListConfig, ListProviders, WatchEvents, ListApps, GetAppStatus, ListAppVersions',
} as const;

interface GatewayCertOptions {
  role: keyof typeof GATEWAY_ROLES;
  name?: string;
  out: string;
  force?: boolean;
  expiresInDays: number;
  home?: string;
  json?: boolean;
}

/** Registers `gateway-cert` on the `creds` group. */
export function registerGatewayCert(group: Command): void {
  const cmd = group
    .command('gateway-cert')
    .description('issue a client certificate of a role for the gRPC gateway (mutual TLS)')
    .addOption(
      new Option('--role <role>', 'the role (the certificate subject OU)')
        .choices(Object.keys(GATEWAY_ROLES))
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'who it is for: the certificate common name (default gateway-<role>)')
    .requiredOption('--out <prefix>', 'write <prefix>.pem and <prefix>-key.pem (the key mode 0600)')
    .option('--force', 'overwrite the files if they exist')
    .option('--expires-in-days <n>', 'validity in days', intFlag('--expires-in-days', 1, 3650), 365)
    .option('--home <dir>', 'the home whose CA signs it (default $WASMESH_HOME or ~/.wasmesh): <home>/tls')
    .option('--json', 'print {cert, key, ca, role, name, expiresAt} as JSON');
  examples(
    cmd,
    [
      'wasmesh creds gateway-cert --role reader --out ops        # ops.pem, ops-key.pem',
      'grpcurl -cacert ~/.wasmesh/tls/ca.pem -cert ops.pem -key ops-key.pem 127.0.0.1:50051 list',
      'wasmesh creds gateway-cert --role admin --name ci --expires-in-days 30 --out ci-admin',
    ],
    `Roles:\n${Object.entries(GATEWAY_ROLES)
      .map(([r, what]) => `  ${r.padEnd(8)}${what}`)
      .join('\n')}\n` +
      'Health and reflection answer any certificate of the CA. The key is a secret: whoever holds it has the role.',
  ).action(async (opts: GatewayCertOptions) => {
    const name = opts.name ?? `gateway-${opts.role}`;
    checkToken('--name', name);
    const files = clientCertFiles(path.resolve(opts.out));
    const existing = [files.cert, files.key].filter((f) => existsSync(f));
    if (existing.length > 0 && !opts.force) {
      throw new UsageError(
        `${existing.join(' and ')} exist${existing.length === 1 ? 's' : ''}: pass --force to overwrite`,
      );
    }
    const tlsDir = path.join(resolveHome(opts.home), 'tls');
    await writeClientCert(tlsDir, path.resolve(opts.out), opts.role, name, opts.expiresInDays);
    const result = {
      ...files,
      ca: path.join(tlsDir, 'ca.pem'),
      role: opts.role,
      name,
      expiresAt: Math.floor(new Date(new X509Certificate(readFileSync(files.cert)).validTo).getTime() / 1000),
    };
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`${files.cert}\n${files.key}\n`);
      note(`gateway client certificate of role ${opts.role} for "${name}", signed by ${result.ca}`);
    }
  });
}
