/**
 * The messaging provider's link config (named config values, merged in order over the
 * provider's own config, so the provider's config gives defaults every link can override):
 *
 *   subscriptions  comma-separated subjects (wildcards allowed) delivered to the actor as
 *                  `MessageHandler.HandleMessage`; empty or absent: the link only publishes and
 *                  requests
 *   queue          the queue group of the link's subscriptions (default
 *                  `wasmesh.messaging.<lattice>.<providerId>.<linkKey>`: one group per link, so when
 *                  one provider id runs as several instances each message reaches the actor once)
 *   url            a NATS server (or comma-separated servers) of the link's own, instead of the
 *                  lattice's connection; the lattice's internal subjects are then not restricted
 *   max_in_flight  deliveries to the actor in flight at once for the link (default 256); further
 *                  messages wait in the provider's memory, in order, and are never dropped
 *   timeout_ms     the deadline of each delivery to the actor (default 10000)
 *
 * Config that cannot work is refused with `WASMESH_ERR_CONFIG` naming the key and value at fault
 * (the user sees it in the link's `link_status` event); unknown keys are only logged.
 *
 * The provider's own config is a default for every link, `subscriptions` and `queue` included:
 * `subscriptions` there makes every link without its own subscribe to those subjects, and `queue`
 * there puts every link's subscriptions in one group (each message then reaches only one of the
 * actors subscribed). Both are usually meant per link; `url`, `max_in_flight` and `timeout_ms` are
 * the usual provider-wide defaults.
 */
import { redactUrl } from '@wasmesh/lattice';
import { configError, type ConfigValues } from '@wasmesh/provider-sdk';
import { subjectProblem } from './subjects.js';

/** The config keys the provider reads. */
export const CONFIG_KEYS = ['subscriptions', 'queue', 'url', 'max_in_flight', 'timeout_ms'] as const;

/** Deliveries in flight per link unless `max_in_flight` says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/** The deadline of a delivery to the actor unless `timeout_ms` says otherwise. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
/** The largest `max_in_flight` or `timeout_ms` accepted (beyond it, the value is surely a typo). */
const MAX_INTEGER_VALUE = 3_600_000;

/** One link's messaging settings, validated. */
export interface MessagingLinkConfig {
  /** Subjects to subscribe to (deduplicated, in the order given). */
  readonly subscriptions: readonly string[];
  /** Queue group of the subscriptions. */
  readonly queue: string;
  /** The link's own NATS server(s), or `undefined` for the lattice connection. */
  readonly url: string | undefined;
  /** Deliveries in flight at once. */
  readonly maxInFlight: number;
  /** Deadline of each delivery, ms. */
  readonly timeoutMs: number;
}

/** The queue group a link's subscriptions use when its config names none. */
export function defaultQueueGroup(lattice: string, providerId: string, linkKey: string): string {
  return `wasmesh.messaging.${lattice}.${providerId}.${linkKey}`;
}

/**
 * Reads a link's merged config (see the module comment); `defaultQueue` is the queue group used
 * when `queue` is absent or empty. Throws `WASMESH_ERR_CONFIG` naming the key at fault.
 */
export function parseLinkConfig(config: ConfigValues, defaultQueue: string): MessagingLinkConfig {
  const url = config.url?.trim() || undefined;
  if (url !== undefined) checkNatsUrl(url);
  const subscriptions = parseSubscriptions(config.subscriptions ?? '', url === undefined);
  const queue = config.queue?.trim() || defaultQueue;
  if (/\s/.test(queue)) {
    throw configError(`config key "queue" is "${queue}": a NATS queue group name cannot contain whitespace`, {
      key: 'queue',
      value: queue,
    });
  }
  return Object.freeze({
    subscriptions,
    queue,
    url,
    maxInFlight: positiveInteger(config, 'max_in_flight', DEFAULT_MAX_IN_FLIGHT),
    timeoutMs: positiveInteger(config, 'timeout_ms', DEFAULT_DELIVERY_TIMEOUT_MS),
  });
}

/** The subjects of `subscriptions` (comma separated), each checked for use on the lattice or not. */
export function parseSubscriptions(value: string, onLattice: boolean): readonly string[] {
  const subjects = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const subject of subjects) {
    const problem = subjectProblem(subject, 'subscribe', onLattice);
    if (problem) {
      throw configError(`config key "subscriptions": subscription "${subject}" ${problem}`, {
        key: 'subscriptions',
        subject,
      });
    }
  }
  return Object.freeze(subjects);
}

/** Config keys the provider does not know (logged, so a typo does not go unnoticed). */
export function unknownConfigKeys(config: ConfigValues): string[] {
  return Object.keys(config).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
}

/** Checks each server of a `url` value: `nats://` or `tls://` URLs, or `host[:port]`. */
function checkNatsUrl(url: string): void {
  for (const server of url.split(',').map((s) => s.trim())) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(server)?.[1]?.toLowerCase();
    const ok =
      scheme === undefined
        ? /^[^\s/:]+(:\d+)?$/.test(server)
        : ['nats', 'tls'].includes(scheme) && URL.canParse(server) && new URL(server).hostname !== '';
    if (!ok) {
      throw configError(
        `config key "url" has "${redactUrl(server)}": use nats://host:port or tls://host:port (comma separated for several servers)`,
        { key: 'url', value: redactUrl(server) },
      );
    }
  }
}

/** A positive integer config value (at most one hour's worth of ms), or `fallback` when absent. */
function positiveInteger(config: ConfigValues, key: string, fallback: number): number {
  const raw = config[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= MAX_INTEGER_VALUE)) {
    throw configError(`config key "${key}" is "${raw}": use a whole number from 1 to ${MAX_INTEGER_VALUE}`, {
      key,
      value: raw,
    });
  }
  return value;
}
