/** Checks on OS processes that tests start indirectly (providers a host spawned, their children). */
import { readFileSync } from 'node:fs';

/** True once `pid` is gone (or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

/** Kills `pid` with SIGKILL if it still runs (cleanup after a failed test). */
export function killIfAlive(pid: number | undefined): void {
  if (!pid || isGone(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}
