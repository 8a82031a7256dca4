/**
 * Processes a bench runs beside itself: helper children that say `ready` on stdout, hosts, and
 * cleanup in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostProcess } from '@wasmesh/test';

/** How long a child may take to say `ready`, and to exit once asked to. */
const CHILD_START_MS = 15_000;
const CHILD_STOP_MS = 10_000;

/**
 * A helper child process (a compiled script next to this module) that prints a line starting with
 * `ready` once it serves, and drains and exits when its stdin closes.
 */
export class ReadyChild {
  #stderr = '';
  /** The `ready …` line it printed. */
  readyLine = '';

  /** Its process id (for its CPU time). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /** Starts `script` (e.g. `floor-responder.js`) with `args`; resolves once it printed `ready`. */
  static async start(script: string, args: readonly string[], log: (msg: string) => void): Promise<ReadyChild> {
    const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
    const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const exited = new Promise<void>((resolve) =>
      child.once('close', () => {
        process.off('exit', killOnExit);
        resolve();
      }),
    );
    const helper = new ReadyChild(child, exited);
    child.stderr!.on('data', (d: Buffer) => (helper.#stderr = (helper.#stderr + d.toString()).slice(-64 * 1024)));
    child.stdin!.on('error', () => {}); // EPIPE once it has exited: stop() handles that
    try {
      helper.readyLine = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(
          () => reject(new Error(`${script} not ready within ${CHILD_START_MS} ms:\n${helper.#stderr}`)),
          CHILD_START_MS,
        );
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('ready'));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`cannot start ${script}: ${err.message}`));
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${script} exited (${signal ?? code}) before it was ready:\n${helper.#stderr}`));
        });
      });
    } catch (err) {
      await helper.stop();
      throw err;
    }
    log(`${script} ready`);
    return helper;
  }

  /** What the child wrote on stderr. */
  logs(): string {
    return this.#stderr;
  }

  /** Closes its stdin (it drains and exits), then SIGKILL after a grace period; waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin?.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), CHILD_STOP_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }
}

/** Stops a host process: SIGTERM (it drains), SIGKILL if it has not exited after a grace period. */
export async function stopHost(host: HostProcess, log: (msg: string) => void): Promise<void> {
  const timer = setTimeout(() => {
    log(`host did not exit within ${CHILD_STOP_MS} ms of SIGTERM; killing it`);
    void host.kill();
  }, CHILD_STOP_MS);
  try {
    await host.stop();
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `cleanups` in reverse order, each even if an earlier one failed; logs failures. */
export async function unwind(
  cleanups: Array<[string, () => Promise<unknown>]>,
  log: (msg: string) => void,
): Promise<void> {
  for (const [what, cleanup] of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      log(`cleanup: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The last `chars` characters of a log. */
export function tail(text: string, chars = 4000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}
