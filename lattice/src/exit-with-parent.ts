/**
 * A service bin (`wasmesh-host`, `wasmesh-reconciler`, `wasmesh-gateway`) started by another
 * wasmesh process (the `wasmesh host|reconciler|gateway` wrappers, `wasmesh up`) ends with it,
 * however it ends, kill -9 included: the parent names itself in `WASMESH_PARENT_PID`, and once
 * this process's parent is another one (the kernel re-parents an orphan to init or a subreaper) it
 * stops as on SIGTERM — a host drains, a reconciler hands its lease over — and exits after
 * {@link FORCE_EXIT_MS} at the latest. Node has no exec() and no PR_SET_PDEATHSIG, and running the
 * services in the CLI's own process would load them (the native runtime, gRPC) into every CLI
 * command, so the child watches its parent instead. (Not its stdin, as providers do: the
 * wrapper's child keeps the terminal's stdin, which closes with neither.)
 */
import { PARENT_PID_ENV } from './command-line.js';

/** How often the parent is checked: an orphan stops within this much. */
const CHECK_MS = 250;
/** How long an orphan may take to drain before it exits anyway (more than a host's default drain, 10 s). */
const FORCE_EXIT_MS = 20_000;

/**
 * Starts watching the parent named in {@link PARENT_PID_ENV} (nothing when unset or not a pid);
 * `name` is the bin, for the one line it writes when orphaned.
 */
export function exitWithParent(name: string): void {
  const raw = process.env[PARENT_PID_ENV];
  if (!raw || !/^[1-9][0-9]{0,9}$/.test(raw)) return;
  const parent = Number(raw);
  // Not inherited by what this process starts (providers have their own supervision).
  delete process.env[PARENT_PID_ENV];
  const orphaned = (): boolean => process.ppid !== parent;
  if (orphaned()) return orphan(name);
  const timer = setInterval(() => {
    if (orphaned()) {
      clearInterval(timer);
      orphan(name);
    }
  }, CHECK_MS);
  timer.unref();
}

function orphan(name: string): void {
  process.stderr.write(`${name}: its parent process exited; stopping\n`);
  setTimeout(() => process.exit(1), FORCE_EXIT_MS).unref();
  process.kill(process.pid, 'SIGTERM');
}
