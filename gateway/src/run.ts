/**
 * The process entry of a gateway: starts it, reports the served address, and closes it on
 * SIGINT/SIGTERM (a second signal cancels in-flight calls at once). Resolves with the stop reason.
 */
import { Gateway } from './gateway.js';
import type { GatewayOptions } from './config.js';

/** Options of {@link runGateway}. */
export interface RunGatewayOptions extends GatewayOptions {
  /** Called once the gateway serves (e.g. to print the address). */
  onListening?: (gateway: Gateway) => void;
}

/** Runs a gateway until a signal or until it stops on its own; rejects when it cannot start. */
export async function runGateway(options: RunGatewayOptions = {}): Promise<string> {
  const gateway = new Gateway(options);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (gateway.state === 'draining') {
      gateway.config.logger.warn({ signal }, 'second signal: ending without the graceful drain');
      process.exit(1);
    }
    void gateway.close(`signal ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await gateway.start();
    options.onListening?.(gateway);
    return await gateway.stopped();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
