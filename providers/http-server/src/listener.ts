/**
 * One HTTP listener (a Node `http.Server`) with its route table, hardened for the open internet:
 * clients that send their request head or body too slowly (slowloris) are answered 408 and cut
 * off, malformed requests get a 400 (431 for oversized heads) naming the parser's complaint, even
 * when the parser gives up in the middle of a body (a chunk-size overflow), idle keep-alive
 * connections close after a while, and the number of connections is capped. Only HTTP/1.x is
 * served: a request line without a version (HTTP/0.9) is a 400, another major version a 505.
 * `CONNECT` is answered 501 Not Implemented: the provider is no proxy, and no actor could serve a
 * tunnel (405 would have to list the target's methods in `Allow`, which only the actor knows).
 * Every answer closes such a connection.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WasmeshError, type Logger } from '@wasmesh/lattice';
import { errorAnswer, rawErrorAnswer } from './answer.js';
import { formatAddress, isLoopback, type ListenAddress, type ListenerLimits } from './config.js';
import { RouteTable } from './routes.js';

/** Serves one request; must answer it (the listener does not look at it again). */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, listener: HttpListener) => void;

/** How long `close()` lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

/** The lifecycle of a listener. */
export type ListenerState = 'created' | 'listening' | 'closing' | 'closed';

/** An HTTP listener; see the module comment. */
export class HttpListener {
  /** The routes served here. */
  readonly routes = new RouteTable();
  readonly #server: http.Server;
  #state: ListenerState = 'created';
  #bound: ListenAddress | undefined;
  #closing: Promise<void> | undefined;
  /** Connections whose parser refused a request while an earlier one was still being answered. */
  readonly #refused = new WeakSet<Duplex>();

  constructor(
    /** Where it was asked to listen (port 0: any free port). */
    readonly address: ListenAddress,
    private readonly limits: ListenerLimits,
    handler: RequestHandler,
    private readonly logger: Logger,
  ) {
    this.#server = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // How often the timeouts above are checked; Node's default (30 s) lets a slowloris client
        // hold a connection for far longer than `headersTimeout`.
        connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
        noDelay: true,
        // Node's own check answers a bare, chunked 400; ours says why (see `#refusal`).
        requireHostHeader: false,
      },
      (req, res) => {
        const refusal = this.#refusal(req);
        if (refusal) this.#answer(req, res, ...refusal);
        else handler(req, res, this);
      },
    );
    this.#server.maxConnections = limits.maxConnections;
    this.#server.on('clientError', (err, socket) => this.#clientError(err as NodeJS.ErrnoException, socket));
    this.#server.on('connect', (_req, socket: Duplex) =>
      this.#answerRaw(socket, 501, 'CONNECT is not served here: this server is no proxy'),
    );
  }

  /**
   * Whether error answers say why: config `error_details` when set, else only on a loopback
   * address, where nobody but this machine can read about actors and the lattice.
   */
  get errorDetails(): boolean {
    return this.limits.errorDetails ?? isLoopback(this.address.host);
  }

  /** Where the listener is in its lifecycle. */
  get state(): ListenerState {
    return this.#state;
  }

  /** The bound address (the real port when 0 was asked for). */
  get bound(): ListenAddress {
    if (!this.#bound)
      throw new WasmeshError('WASMESH_ERR_CLOSED', `listener ${formatAddress(this.address)} is not open`);
    return this.#bound;
  }

  /** A URL reaching the listener from this machine (`localhost` for a wildcard address). */
  get url(): string {
    const { host, port } = this.bound;
    const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
    return `http://${formatAddress({ host: name, port })}`;
  }

  /** Binds the address. `WASMESH_ERR_CONFIG` when it cannot (in use, not ours), naming it. */
  async open(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the address is already in use'
            : err.code === 'EADDRNOTAVAIL'
              ? 'the address is not one of this machine'
              : err.code === 'EACCES'
                ? 'permission denied (ports below 1024 need privileges)'
                : err.message;
        reject(
          new WasmeshError(
            'WASMESH_ERR_CONFIG',
            `cannot listen on ${formatAddress(this.address)}: ${why}; set config key "address" to another host:port`,
            { cause: err, details: { address: formatAddress(this.address), errno: err.code ?? '' } },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(this.address.port, this.address.host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const a = this.#server.address();
    if (a && typeof a === 'object') this.#bound = { host: a.address, port: a.port };
    this.#state = 'listening';
    this.#server.on('error', (err) => this.logger.error({ err, address: this.url }, 'HTTP listener error'));
    return this;
  }

  /**
   * Stops listening: idle connections close now, requests in flight get {@link CLOSE_GRACE_MS} to
   * finish. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state !== 'listening') {
        this.#state = 'closed';
        return;
      }
      this.#state = 'closing';
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const grace = setTimeout(() => this.#server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(grace);
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  /**
   * Why a parsed request is refused before routing, if it is: HTTP/0.9 (no version on the request
   * line) is a 400, HTTP/2 or later over this parser a 505, and an HTTP/1.1 request without a Host
   * header a 400 (RFC 9112 §3.2 requires it).
   */
  #refusal(req: http.IncomingMessage): [status: number, message: string] | undefined {
    if (req.httpVersionMajor === 0)
      return [400, 'the request line has no HTTP version (HTTP/0.9 is not served); send e.g. GET /path HTTP/1.1'];
    if (req.httpVersionMajor !== 1) return [505, `HTTP/${req.httpVersion} is not supported here; use HTTP/1.1`];
    if (req.httpVersionMinor === 1 && req.headers.host === undefined)
      return [400, 'an HTTP/1.1 request must carry a Host header'];
    return undefined;
  }

  /** Answers through the response object and closes the connection (the request is not read further). */
  #answer(req: http.IncomingMessage | undefined, res: http.ServerResponse, status: number, message: string): void {
    res.shouldKeepAlive = false;
    const json = req?.headers.accept?.includes('application/json') ?? false;
    const { headers, body } = errorAnswer(status, 'WASMESH_ERR_BAD_REQUEST', message, {
      json,
      details: this.errorDetails,
    });
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Answers on a socket that has no response object (the parser refused the head, CONNECT), then closes it. */
  #answerRaw(socket: Duplex, status: number, message: string): void {
    socket.end(rawErrorAnswer(status, 'WASMESH_ERR_BAD_REQUEST', message, this.errorDetails));
  }

  /**
   * A request the parser refused, or a client too slow: answer if still possible, then cut. The
   * parser may give up in the middle of a body (e.g. a chunk-size overflow) while the request is
   * being served: that request is answered through its response, as long as none has started.
   * When the request being served was read whole, the refused one came after it (pipelined): the
   * served one keeps its own answer and the refusal follows it.
   */
  #clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // A refused parser reports again on every later read: the first report is answered.
    if (this.#refused.has(socket)) return;
    const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request took too long to arrive']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'the request head is too large']
          : [
              400,
              `malformed HTTP request (${err.code ?? 'parse error'}: ${(err as { reason?: string }).reason ?? err.message})`,
            ];
    if (inFlight?.req.complete && !inFlight.writableFinished) {
      this.#refused.add(socket);
      inFlight.once('finish', () => {
        if (socket.writable) this.#answerRaw(socket, status, reason);
        else socket.destroy();
      });
    } else if (inFlight?.headersSent) socket.destroy();
    else if (inFlight) this.#answer(inFlight.req, inFlight, status, reason);
    else this.#answerRaw(socket, status, reason);
  }
}
