/**
 * The one check of NATS server URLs (`--nats`, `WASMESH_NATS_URL`, a service's config): a list
 * nobody can connect to (empty, another scheme, no host, a port out of range) is a usage error
 * naming where the value came from and what it was, before any connection is tried. Without it
 * an empty value reached the NATS client and came back as "cannot connect to NATS at : ".
 */
import { UsageError } from './command-line.js';

/**
 * `text` with the userinfo of every URL in it replaced (`nats://***@host:4222`): for URLs and for
 * messages that may quote them, in errors and logs.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/)[^@/\s,]*@/g, '$1***@');
}

/** How messages name the NATS URL of a command line: the flag and the variable it defaults to. */
export const NATS_URL_SOURCE = '--nats (env WASMESH_NATS_URL)';

/** What a NATS server URL looks like, for error messages. */
const EXPECTED = 'expected nats://HOST:PORT or tls://HOST:PORT, several separated by commas';

/** Why `url` (one trimmed entry) cannot be a NATS server URL, or undefined when it can. */
function problemOf(url: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'nats' && scheme !== 'tls') {
    return `the scheme "${scheme}://" is not one a NATS server speaks`;
  }
  // A bare HOST:PORT is what nats.js accepts too: read it as nats://HOST:PORT.
  const port = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(url)?.[1];
  if (port !== undefined && port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `the port "${port}" is not in 1..65535`;
  }
  let parsed: URL;
  try {
    parsed = new URL(scheme === undefined ? `nats://${url}` : url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.hostname === '') return 'it names no host';
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') {
    return 'a NATS URL has no path, query or fragment';
  }
  return undefined;
}

/**
 * The server URLs in `raw` (a comma-separated list, or a list), trimmed, empty entries dropped;
 * a {@link UsageError} naming `source` (e.g. `--nats (env WASMESH_NATS_URL)`) and the value when
 * none is left or one is not a NATS URL. Userinfo (`user:pass@`, `token@`) is kept for the
 * connection but never shown.
 */
export function parseNatsUrls(raw: string | readonly string[], source: string): string[] {
  const entries = (typeof raw === 'string' ? raw.split(',') : raw.flatMap((s) => s.split(',')))
    .map((s) => s.trim())
    .filter(Boolean);
  const shown = redactUrl(typeof raw === 'string' ? raw : raw.join(','));
  if (entries.length === 0) {
    throw new UsageError(`${source} is empty: ${EXPECTED}`, { details: { source, value: shown } });
  }
  for (const url of entries) {
    const problem = problemOf(url);
    if (problem) {
      throw new UsageError(`${source} "${redactUrl(url)}" is not a NATS server URL: ${problem} (${EXPECTED})`, {
        details: { source, value: shown },
      });
    }
  }
  return entries;
}

/** A commander argument parser for `--nats`: checks the value (flag or env) and returns it as given. */
export function natsUrlFlag(source: string): (raw: string) => string {
  return (raw) => {
    parseNatsUrls(raw, source);
    return raw;
  };
}
