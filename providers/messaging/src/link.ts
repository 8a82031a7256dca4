/**
 * One link's messaging resource: the NATS connection its messages use (the lattice's, or its own
 * when config `url` is set), its subscriptions, and the deliveries of their messages to the linked
 * actor.
 *
 * - Every subscription of the link is in one queue group (config `queue`), so several instances
 *   of one provider id deliver each message once. A replaced link's new subscriptions are made
 *   (and confirmed by the server) before the old ones are drained, in the same queue group by
 *   default: no message is lost or doubled while config changes.
 * - At most `max_in_flight` deliveries run at once; further messages wait in arrival order and
 *   are never dropped (core NATS has no flow control: a backlog waits in the provider's memory).
 * - A failed delivery never throws: it is counted, answered with the service error headers when
 *   the message has a reply subject, and logged at most once per second per link.
 * - `close()` drains the subscriptions (no new messages), lets the deliveries received finish
 *   (bounded; messages still waiting after that are answered 503 and dropped), then drains the
 *   link's own connection, if it has one.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectNats, describeLink, type Logger, redactUrl } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import { configError } from '@wasmesh/provider-sdk';
import type { MessagingLinkConfig } from './config.js';
import { respondWithError } from './delivery.js';
import { linkClosedError } from './errors.js';
import { ConcurrencyGate } from './gate.js';
import { ThrottledWarning } from './throttle.js';

/** How long opening a link waits for its own NATS server. */
const CONNECT_TIMEOUT_MS = 5000;

/** Delivers one message to the link's actor (and answers its reply subject); throws when that fails. */
export type DeliverFn = (actorId: string, msg: Msg, timeoutMs: number) => Promise<void>;

/** What {@link MessagingLink.open} needs. */
export interface MessagingLinkOptions {
  /** The link (`sourceId` = the actor messages are delivered to). */
  link: lattice.ILink;
  /** The link's KV key, for connection names and logs. */
  key: string;
  /** The link's validated config. */
  config: MessagingLinkConfig;
  /** The lattice's NATS connection (used unless `config.url` is set). */
  latticeNc: NatsConnection;
  /** The provider id, for the name of the link's own connection. */
  providerId: string;
  deliver: DeliverFn;
  logger: Logger;
}

/** A health verdict of one link. */
export interface LinkHealth {
  healthy: boolean;
  message?: string;
}

/** The resource of one messaging link; see the module comment. */
export class MessagingLink {
  /** `actor -[contract, link]-> provider`, for messages. */
  readonly description: string;
  /** The actor messages are delivered to. */
  readonly actorId: string;
  readonly #subs: Subscription[] = [];
  readonly #gate: ConcurrencyGate;
  readonly #warning: ThrottledWarning;
  #pending = 0;
  #idle: (() => void)[] = [];
  #delivered = 0;
  #failed = 0;
  #connected = true;
  #closing: Promise<void> | undefined;

  private constructor(
    /** The connection the link publishes, requests and subscribes on. */
    readonly nc: NatsConnection,
    /** True when `nc` is the link's own (config `url`); false for the lattice's connection. */
    readonly ownConnection: boolean,
    readonly link: lattice.ILink,
    readonly config: MessagingLinkConfig,
    private readonly deliver: DeliverFn,
    private readonly logger: Logger,
  ) {
    this.description = describeLink(link);
    this.actorId = link.sourceId ?? '';
    this.#gate = new ConcurrencyGate(config.maxInFlight);
    this.#warning = new ThrottledWarning(logger);
  }

  /**
   * Connects (config `url`) and subscribes; resolves once the server has the subscriptions, so
   * messages published after the link's `link_status` event are delivered. A server that cannot
   * be reached refuses the link (`WASMESH_ERR_CONFIG`).
   */
  static async open(options: MessagingLinkOptions): Promise<MessagingLink> {
    const { config, logger } = options;
    let nc = options.latticeNc;
    if (config.url !== undefined) {
      try {
        nc = await connectNats({
          servers: config.url,
          // Another server: never the lattice's credentials ('' = none, not the environment's).
          creds: '',
          tlsCa: '',
          name: `provider ${options.providerId} link ${options.key}`,
          logger,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
        });
      } catch (err) {
        const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        throw configError(
          `cannot connect to the NATS server of config key "url" (${redactUrl(config.url)}): ${reason}`,
          { key: 'url', value: redactUrl(config.url) },
          err,
        );
      }
    }
    const link = new MessagingLink(nc, config.url !== undefined, options.link, config, options.deliver, logger);
    try {
      link.#subscribe();
      await nc.flush();
    } catch (err) {
      await link.close(0);
      throw err;
    }
    if (link.ownConnection) link.#followStatus();
    return link;
  }

  /** Where the link's messages travel, for error messages. */
  get where(): string {
    return this.config.url === undefined
      ? 'on the lattice NATS'
      : `on the link's own NATS at ${redactUrl(this.config.url)}`;
  }

  /** Messages delivered to the actor so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Messages whose delivery failed so far. */
  get failed(): number {
    return this.#failed;
  }

  /** Messages received and not yet done (delivering or waiting for a slot). */
  get pending(): number {
    return this.#pending;
  }

  /** Unhealthy when the link's own connection is closed or disconnected (the lattice's is the SDK's concern). */
  health(): LinkHealth {
    if (!this.ownConnection) return { healthy: true };
    const url = redactUrl(this.config.url ?? '');
    if (this.nc.isClosed()) {
      return { healthy: false, message: `link ${this.description}: its NATS connection to ${url} is closed` };
    }
    if (!this.#connected) {
      return {
        healthy: false,
        message: `link ${this.description}: its NATS connection to ${url} is disconnected (reconnecting)`,
      };
    }
    return { healthy: true };
  }

  /**
   * Releases the link: drains its subscriptions, waits up to `drainTimeoutMs` for the messages
   * received to be delivered (those still waiting then are answered 503), and drains its own
   * connection. Idempotent.
   */
  close(drainTimeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(drainTimeoutMs);
    return this.#closing;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    // A drain waits for the server's answer: bounded, and skipped while the link's own server is
    // unreachable, so a server that is down cannot hold the release.
    const reachable = !this.ownConnection || (this.#connected && !this.nc.isClosed());
    await Promise.all(
      this.#subs.map(async (sub) => {
        if (!reachable || !(await bounded(sub.drain(), drainTimeoutMs))) {
          try {
            sub.unsubscribe();
          } catch {
            // The connection is gone, and the subscription with it.
          }
        }
      }),
    );
    if (!(await this.#settled(drainTimeoutMs))) {
      this.logger.warn(
        { link: this.description, inFlight: this.#gate.active, waiting: this.#gate.waiting },
        'deliveries still pending after the drain timeout; messages still waiting are answered 503 and dropped',
      );
      this.#gate.failWaiting();
      await this.#settled(Math.min(drainTimeoutMs, 1000));
    }
    if (this.ownConnection && !this.nc.isClosed()) {
      const drained = this.#connected && (await bounded(this.nc.drain(), drainTimeoutMs));
      if (!drained) await this.nc.close().catch(() => undefined);
    }
  }

  #subscribe(): void {
    for (const subject of this.config.subscriptions) {
      this.#subs.push(
        this.nc.subscribe(subject, {
          queue: this.config.queue,
          callback: (err, msg) => {
            if (err) {
              this.logger.error(
                { err, link: this.description, subject },
                'subscription failed; no more messages of this subject reach the actor (put the link or its config again to retry)',
              );
            } else {
              this.#receive(msg);
            }
          },
        }),
      );
    }
  }

  /** Tracks whether the link's own connection is up, for health checks (ends when it closes). */
  #followStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') this.#connected = false;
        else if (s.type === 'reconnect') this.#connected = true;
      }
    })().catch(() => undefined);
  }

  #receive(msg: Msg): void {
    this.#pending++;
    void this.#deliver(msg).finally(() => {
      if (--this.#pending === 0) for (const wake of this.#idle.splice(0)) wake();
    });
  }

  /** Delivers `msg` once a slot is free; never throws. */
  async #deliver(msg: Msg): Promise<void> {
    try {
      await this.#gate.acquire();
    } catch {
      this.#fail(msg, linkClosedError(msg.subject, this.description));
      return;
    }
    try {
      await this.deliver(this.actorId, msg, this.config.timeoutMs);
      this.#delivered++;
    } catch (err) {
      this.#fail(msg, err);
    } finally {
      this.#gate.release();
    }
  }

  #fail(msg: Msg, err: unknown): void {
    this.#failed++;
    const answered = respondWithError(msg, err);
    this.#warning.warn(
      { err, link: this.description, subject: msg.subject, answered },
      'delivering a message to the actor failed',
    );
  }

  /** True once every message received is done; false after `timeoutMs`. */
  async #settled(timeoutMs: number): Promise<boolean> {
    if (this.#pending === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((r) => this.#idle.push(() => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }
}

/** True when `p` resolves within `timeoutMs`; false when it rejects or takes longer. */
async function bounded(p: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
