/**
 * A provider as a process of its own (Node.js running the provider's JavaScript entry module): spawned
 * in its own process group with the clean bootstrap environment, its stdout and stderr relayed to
 * the host log (tagged with the provider id, pino lines at their level), the tail of its stderr kept
 * for error messages. Its stdin is a pipe the host never writes to: it reaches end-of-file when the
 * host dies, even from SIGKILL, so a provider that stops on stdin EOF never outlives its host.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '@wasmesh/lattice';
import type { InstanceExit, ProviderInstance } from './instance.js';

/** Lines of a provider's stderr kept for error messages. */
const STDERR_TAIL_LINES = 20;
/** Longest line kept in the stderr tail. */
const STDERR_TAIL_LINE_CHARS = 500;
/** How long to wait for the rest of a provider's output after it exited. */
const OUTPUT_GRACE_MS = 500;

/** Sends `signal` to the process group led by `pid`; false when the group is gone. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  // Never 0 (this process's own group) or a negative number.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const PINO_LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * Logs one output line of a provider: its pino JSON lines at their level with their fields (but
 * not those `log` already binds, such as the provider id, which would be duplicated), other lines
 * as text (stdout at info, stderr at warn).
 */
function relayLine(log: Logger, stream: 'stdout' | 'stderr', line: string): void {
  if (!line.trim()) return;
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const level = typeof parsed.level === 'number' ? PINO_LEVELS[parsed.level] : undefined;
      if (level) {
        const bound = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', ...Object.keys(log.bindings())]);
        const fields = Object.fromEntries(Object.entries(parsed).filter(([k]) => !bound.has(k)));
        log[level]({ ...fields, stream }, typeof parsed.msg === 'string' ? parsed.msg : '');
        return;
      }
    } catch {
      // not JSON: logged as text below
    }
  }
  if (stream === 'stdout') log.info({ stream }, line);
  else log.warn({ stream }, line);
}

/** Spawns `entry` with `env` as a provider process; `onExit` runs once it exited. */
export function spawnProviderProcess(
  entry: string,
  env: Record<string, string>,
  log: Logger,
  onExit: (inst: ProviderInstance) => void,
): ProviderInstance {
  const child = spawn(process.execPath, [entry], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const exited = new Promise<InstanceExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      // Spawning failed (no pid, no 'exit'): report it as an exit.
      if (child.pid === undefined) {
        tail.push(`cannot spawn ${process.execPath}: ${err.message}`);
        resolve({ code: null, signal: null });
      }
    });
  });
  // Nothing is written to stdin; it reaches EOF when the host dies. A provider that exits
  // closes the pipe, which must not crash the host.
  child.stdin?.on('error', () => undefined);
  const ended = (stream: Readable | null, name: 'stdout' | 'stderr'): Promise<void> => {
    if (!stream) return Promise.resolve();
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      relayLine(log, name, line);
      if (name === 'stderr') {
        tail.push(line.length > STDERR_TAIL_LINE_CHARS ? `${line.slice(0, STDERR_TAIL_LINE_CHARS)}…` : line);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
      }
    });
    return new Promise((resolve) => lines.once('close', resolve));
  };
  const output = Promise.all([ended(child.stdout, 'stdout'), ended(child.stderr, 'stderr')]).then(() => undefined);
  // A grandchild holding the pipes open must not hold up the error message.
  const outputDone = Promise.race([
    output,
    exited.then(() => new Promise<void>((r) => setTimeout(r, OUTPUT_GRACE_MS).unref())),
  ]);
  const pid = child.pid ?? 0;
  const inst: ProviderInstance = {
    mode: 'process',
    pid,
    registeredAtMs: 0,
    exit: undefined,
    exited,
    outputDone,
    tail,
    onRegistered: undefined,
    announcedStop: false,
    terminate: () => void killGroup(pid, 'SIGTERM'),
    kill: () => void killGroup(pid, 'SIGKILL'),
  };
  void exited.then((exit) => {
    inst.exit = exit;
    // Whatever it left in its group goes with it.
    killGroup(pid, 'SIGKILL');
    onExit(inst);
  });
  log.debug({ pid, entry }, 'provider process spawned');
  return inst;
}
