/**
 * `connect` of `@nats-io/transport-node`, with one defect fixed: a connection attempt that fails
 * (times out) before the server's INFO arrives leaves its socket open. nats.js 3.4 races the dial
 * against its `timeout` and then closes the transport, but `NodeTransport.close()` ignores a
 * transport that never connected, and a socket still dialing is not even stored. Against a server
 * that accepts and never speaks (or an address that drops SYNs) a `reconnect: false` client gets
 * its error after `timeout` and the process then stays alive on that socket for minutes: the CLI
 * hung after printing "cannot connect" (issue 10). Here every transport of a failed attempt
 * destroys its socket, dialed or dialing, so nothing of the attempt outlives it.
 */
import type { Socket } from 'node:net';
import { createConnection } from 'node:net';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { NatsConnectionImpl, setTransportFactory } from '@nats-io/transport-node/lib/nats-base-client.js';
import { NodeTransport, nodeResolveHost } from '@nats-io/transport-node/lib/node_transport.js';

/** A {@link NodeTransport} whose close, before or after connecting, destroys its socket. */
class ClosingTransport extends NodeTransport {
  /** The socket being dialed, before `NodeTransport.connect` stores it in `socket`. */
  #dialing: Socket | undefined;

  /** `NodeTransport.dial`, keeping the socket reachable while the TCP connect is pending. */
  override dial(hp: { hostname: string; port: number }): Promise<Socket> {
    return new Promise((resolve, reject) => {
      let dialError: Error | undefined;
      const socket = createConnection(hp.port, hp.hostname, () => {
        socket.removeAllListeners();
        resolve(socket);
      });
      this.#dialing = socket;
      socket.on('error', (err) => (dialError = err));
      socket.on('close', () => {
        socket.removeAllListeners();
        reject(dialError ?? new Error(`connection to ${hp.hostname}:${hp.port} closed while dialing`));
      });
      socket.setNoDelay(true);
    });
  }

  /** Closes; a transport that never connected destroys what it dialed (the base class keeps it open). */
  override async close(err?: Error): Promise<void> {
    if (!this.connected) {
      // `done` makes a dial that completes after this destroy its socket too (NodeTransport.connect).
      this.done = true;
      (this.socket as Socket | undefined)?.destroy();
      this.#dialing?.destroy();
    }
    await super.close(err);
  }
}

/**
 * Connects as `@nats-io/transport-node`'s `connect` does, with transports that leave no socket
 * behind when an attempt fails. Why: see the module comment.
 */
export function connectNatsTransport(options: ConnectionOptions = {}): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new ClosingTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
