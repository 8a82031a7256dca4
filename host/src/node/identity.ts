/**
 * Who a host is: an nkey server key (its public key, starting with `N`, is the host id everywhere),
 * a friendly name, and labels (built-in `hostcore.*` plus the user's).
 */
import os from 'node:os';
import { randomInt } from 'node:crypto';
import { Prefix, type KeyPair } from '@nats-io/nkeys';
import { createNkey, isHostGroup, nkeyFromSeed, WasmeshError, type Credentials } from '@wasmesh/lattice';

/** The host's key pair: from `seed` (an `SN…` server seed) or newly generated. */
export function hostKeyPair(seed?: string): KeyPair {
  if (!seed) return createNkey(Prefix.Server);
  try {
    const kp = nkeyFromSeed(seed.trim());
    if (!kp.getPublicKey().startsWith('N')) throw new Error('not a server key');
    return kp;
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid host seed: expected an nkey server seed (SN…): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * The host's id: with credentials, the name they carry (the server lets them publish events only
 * as that id, so the id cannot be chosen otherwise; a seed, if given too, must match it); with
 * host-group credentials or none, the public key of `seed` or of a new key (a group's hosts then
 * mint credentials for that id).
 */
export function hostId(seed: string | undefined, creds: Credentials | undefined): string {
  const fromSeed = seed ? hostKeyPair(seed).getPublicKey() : undefined;
  if (!creds || isHostGroup(creds)) return fromSeed ?? createNkey(Prefix.Server).getPublicKey();
  if (!/^N[A-Z2-7]{55}$/.test(creds.name)) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `${creds.file} are not host credentials: they name "${creds.name}", not a host id (issue them with \`wasmesh creds create --role host\`, or \`--role host --group\` for many hosts)`,
      { details: { file: creds.file } },
    );
  }
  if (fromSeed && fromSeed !== creds.name) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `the host seed is for ${fromSeed} but ${creds.file} are for host ${creds.name}: drop the seed, or issue credentials for its id`,
      { details: { file: creds.file } },
    );
  }
  return creds.name;
}

const ADJECTIVES = [
  'amber',
  'bold',
  'brave',
  'calm',
  'clever',
  'cool',
  'crisp',
  'eager',
  'fancy',
  'gentle',
  'glad',
  'golden',
  'happy',
  'keen',
  'lively',
  'lucky',
  'mellow',
  'nimble',
  'proud',
  'quick',
  'quiet',
  'rapid',
  'shiny',
  'silent',
  'sly',
  'snowy',
  'steady',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'wise',
  'witty',
  'young',
  'zesty',
];
const NOUNS = [
  'badger',
  'bison',
  'cedar',
  'comet',
  'coral',
  'crane',
  'delta',
  'falcon',
  'fern',
  'firefly',
  'fox',
  'glacier',
  'harbor',
  'heron',
  'lake',
  'lynx',
  'maple',
  'meadow',
  'moon',
  'otter',
  'owl',
  'panda',
  'pine',
  'prairie',
  'quartz',
  'raven',
  'reef',
  'river',
  'sparrow',
  'star',
  'stone',
  'tiger',
  'tundra',
  'willow',
  'wolf',
  'zephyr',
];

/** A random `adjective-noun-NNNN` name, easier to read than a host id. */
export function friendlyName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${String(randomInt(10_000)).padStart(4, '0')}`;
}

/** Prefix of labels the host sets itself; users cannot remove them. */
export const BUILTIN_LABEL_PREFIX = 'hostcore.';

/** Labels every host has. */
export function builtinLabels(): Record<string, string> {
  return { 'hostcore.os': os.platform(), 'hostcore.arch': os.arch() };
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** Checks a label key; throws `WASMESH_ERR_BAD_REQUEST` naming it. */
export function checkLabelKey(key: string): string {
  if (!LABEL_KEY.test(key)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `invalid label key "${key}": 1-63 letters, digits, '.', '_', '/' or '-'`,
      {
        details: { key },
      },
    );
  }
  return key;
}

/** Longest label value, so labels cannot grow heartbeats past a NATS message. */
export const MAX_LABEL_VALUE_CHARS = 1024;
/** Most labels a host carries (built-ins included), for the same reason. */
export const MAX_LABELS = 128;

/** Checks a label value's length; throws `WASMESH_ERR_BAD_REQUEST` naming the key (not quoting the value). */
export function checkLabelValue(key: string, value: string): string {
  if (value.length > MAX_LABEL_VALUE_CHARS) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `the value of label "${key}" is ${value.length} characters long, more than ${MAX_LABEL_VALUE_CHARS}`,
      { details: { key, length: value.length, limit: MAX_LABEL_VALUE_CHARS } },
    );
  }
  return value;
}

/**
 * The host's labels: built-ins, then `WASMESH_LABEL_<KEY>=value` from the environment (key
 * lower-cased), then explicit ones (flags) which win.
 */
export function resolveLabels(
  explicit: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const fromEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('WASMESH_LABEL_') && value !== undefined)
      fromEnv[name.slice('WASMESH_LABEL_'.length).toLowerCase()] = value;
  }
  const labels = { ...builtinLabels(), ...fromEnv, ...explicit };
  for (const [key, value] of Object.entries(labels)) checkLabelValue(checkLabelKey(key), value);
  return labels;
}
