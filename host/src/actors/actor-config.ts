/**
 * Contract `wasmesh:config` (proto/wasmesh/contracts/v1/actorconfig.proto), answered by the host
 * that runs the actor rather than by a provider: an actor's own config (the named config it was
 * started with, merged in order, read when asked so a change applies to the next call) and whether
 * it may send an outgoing HTTP request.
 *
 * Outgoing HTTP (components' `wasi:http/outgoing-handler`) is denied unless the actor's config key
 * `allowed_outbound_hosts` lists the authority, and, for a signed actor, its claims grant the
 * capability `wasi:http/outgoing-handler`. The list is comma- or space-separated entries, each
 * `host`, `host:port`, `*.domain` (any subdomain), `*` (anywhere), optionally with a scheme
 * (`https://api.example.com`) that then must match too. A host without a port allows the scheme's
 * default port only (80 for http, 443 for https), so `example.com` does not open every port.
 */
import { mergeConfig, WasmeshError, type LinkState } from '@wasmesh/lattice';
import { contracts, ContractId, Operation } from '@wasmesh/proto';

/** The contract id the host answers itself. */
export const ACTOR_CONFIG_CONTRACT = ContractId.CONFIG;

/** The capability a signed actor needs to send outgoing HTTP requests. */
export const OUTGOING_HTTP_CAPABILITY = 'wasi:http/outgoing-handler';

/** The config key listing where an actor may send HTTP requests. */
export const ALLOWED_OUTBOUND_HOSTS = 'allowed_outbound_hosts';

/** Reads the merged values of the named config `names` (absent names are skipped). */
export async function readActorConfig(state: LinkState, names: readonly string[]): Promise<Record<string, string>> {
  return mergeConfig(await Promise.all(names.map((n) => state.config.get(n))));
}

/**
 * Answers one `wasmesh:config` call of `actor`, whose config `config()` reads and whose signed
 * claims grant `caps` (`undefined`: unsigned, unrestricted).
 */
export async function answerActorConfig(
  actor: string,
  operation: string,
  payload: Uint8Array,
  config: () => Promise<Record<string, string>>,
  caps: readonly string[] | undefined,
): Promise<Uint8Array> {
  switch (operation) {
    case Operation.ActorConfig.GetAll:
      return contracts.GetAllConfigResponse.encode({ values: configValues(await config()) }).finish();
    case Operation.ActorConfig.CheckOutgoing: {
      const { scheme, authority } = contracts.CheckOutgoingRequest.decode(payload);
      const reason = await outgoingRefusal(scheme, authority, config, caps);
      return contracts.CheckOutgoingResponse.encode({ allowed: reason === undefined, reason: reason ?? '' }).finish();
    }
    default:
      throw new WasmeshError(
        'WASMESH_ERR_UNKNOWN_OPERATION',
        `contract ${ACTOR_CONFIG_CONTRACT} has no operation "${operation}" (actor "${actor}")`,
        { details: { actor, contract: ACTOR_CONFIG_CONTRACT, operation } },
      );
  }
}

/** `values` as the contract's list, sorted by key. */
function configValues(values: Record<string, string>): contracts.IConfigValue[] {
  return Object.entries(values)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
}

/** Why `scheme://authority` is refused to the actor, or `undefined` when it is allowed. */
async function outgoingRefusal(
  scheme: string,
  authority: string,
  config: () => Promise<Record<string, string>>,
  caps: readonly string[] | undefined,
): Promise<string | undefined> {
  if (caps !== undefined && !caps.includes(OUTGOING_HTTP_CAPABILITY)) {
    return `the actor's signed claims do not grant ${OUTGOING_HTTP_CAPABILITY} (re-sign it with --cap ${OUTGOING_HTTP_CAPABILITY})`;
  }
  const list = (await config())[ALLOWED_OUTBOUND_HOSTS];
  if (!list?.trim()) {
    return `the actor's config has no ${ALLOWED_OUTBOUND_HOSTS} (give it one, e.g. ${ALLOWED_OUTBOUND_HOSTS}=${splitAuthority(authority, scheme).host})`;
  }
  const entries = list.split(/[\s,]+/).filter((e) => e !== '');
  if (entries.some((e) => allowsOutbound(e, scheme, authority))) return undefined;
  return `${ALLOWED_OUTBOUND_HOSTS} (${entries.join(', ')}) does not list ${authority}`;
}

/** `[user@]host[:port]` as host (IPv6 literals keep their brackets) and port (the scheme's default when absent). */
function splitAuthority(authority: string, scheme: string): { host: string; port: string } {
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const colon = hostPort.lastIndexOf(':');
  return colon > hostPort.lastIndexOf(']')
    ? { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) }
    : { host: hostPort, port: scheme === 'https' ? '443' : '80' };
}

/** Whether the allow-list entry `entry` admits `scheme://authority`. */
export function allowsOutbound(entry: string, scheme: string, authority: string): boolean {
  let rest = entry.toLowerCase();
  const sep = rest.indexOf('://');
  if (sep >= 0) {
    if (rest.slice(0, sep) !== scheme.toLowerCase()) return false;
    rest = rest.slice(sep + 3);
  }
  rest = rest.replace(/\/+$/, '');
  if (rest === '*') return true;
  const target = splitAuthority(authority.toLowerCase(), scheme);
  const allowed = splitAuthority(rest, scheme);
  if (allowed.port !== '*' && allowed.port !== target.port) return false;
  if (allowed.host.startsWith('*.')) return target.host.endsWith(allowed.host.slice(1));
  return target.host === allowed.host;
}
