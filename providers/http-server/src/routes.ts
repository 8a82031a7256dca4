/**
 * The routes of one listener: which actor answers a request, by Host header and path prefix.
 * The most specific route wins: an exact host before a wildcard host before any host, then the
 * longest path prefix. Two links may not claim the same host and prefix on one listener: the
 * second is refused, naming the first.
 */
import { configError } from '@wasmesh/provider-sdk';
import type { RouteConfig } from './config.js';

/** A link's route, as served. */
export interface Route {
  /** The link's KV key: one route per link. */
  readonly linkKey: string;
  /** The actor answering the route's requests. */
  readonly actorId: string;
  /** The link's name, for messages. */
  readonly linkName: string;
  readonly config: RouteConfig;
}

/** What a request resolves to: the route and the path the actor sees. */
export interface RouteMatch {
  route: Route;
  path: string;
}

/** The routes of one listener; see the module comment. */
export class RouteTable {
  /** By link key. */
  readonly #routes = new Map<string, Route>();
  /** Routes sorted most specific first; rebuilt on change (changes are rare, lookups are not). */
  #sorted: Route[] = [];

  /** Number of routes. */
  get size(): number {
    return this.#routes.size;
  }

  /** Adds `route`, replacing the route of the same link; refuses a clash with another link's route. */
  add(route: Route): void {
    for (const other of this.#routes.values()) {
      if (other.linkKey === route.linkKey) continue;
      if (other.config.host === route.config.host && other.config.path === route.config.path) {
        const where = `${route.config.host || 'any host'} and path prefix ${route.config.path}`;
        throw configError(
          `the route for ${where} is already taken by actor "${other.actorId}" (link "${other.linkName}"): give this link another path or host`,
          { path: route.config.path, host: route.config.host, takenBy: other.actorId },
        );
      }
    }
    this.#routes.set(route.linkKey, route);
    this.#sort();
  }

  /** Removes `route` if it is still the one of its link (a newer route of the link stays). */
  remove(route: Route): void {
    if (this.#routes.get(route.linkKey) !== route) return;
    this.#routes.delete(route.linkKey);
    this.#sort();
  }

  /** The route for a request to `host` (from the Host header, port removed, lower case) and `path`. */
  match(host: string, path: string): RouteMatch | undefined {
    for (const route of this.#sorted) {
      const { host: pattern, path: prefix, stripPrefix } = route.config;
      if (pattern !== '' && !hostMatches(pattern, host)) continue;
      if (!pathHasPrefix(path, prefix)) continue;
      return { route, path: stripPrefix && prefix !== '/' ? path.slice(prefix.length) || '/' : path };
    }
    return undefined;
  }

  /** The routes, most specific first. */
  list(): readonly Route[] {
    return this.#sorted;
  }

  #sort(): void {
    this.#sorted = [...this.#routes.values()].sort(
      (a, b) =>
        hostRank(a.config.host) - hostRank(b.config.host) ||
        b.config.path.length - a.config.path.length ||
        a.linkKey.localeCompare(b.linkKey),
    );
  }
}

/** 0 for an exact host, 1 for a wildcard, 2 for any host. */
function hostRank(pattern: string): number {
  if (pattern === '') return 2;
  return pattern.startsWith('*.') ? 1 : 0;
}

function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Whether `path` is `prefix` or lies under it (whole segments). */
function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47; // '/'
}

/** The Host header's name part, lower case, without the port. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
