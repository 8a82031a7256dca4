/**
 * CPU time used by processes and their descendants, read from Linux `/proc`: the benchmarks divide
 * it by the requests served, a figure steadier than throughput on a shared machine (another
 * tenant's load lowers req/s much more than it raises what one request costs).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on every Linux port Node runs on). */
const TICKS_PER_SECOND = 100;

/** User plus system CPU milliseconds of `pid` and, recursively, its children; 0 for a process that is gone. */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks = Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
  let children = 0;
  for (const tid of safeList(`/proc/${pid}/task`)) {
    for (const child of safeRead(`/proc/${pid}/task/${tid}/children`).split(' ').filter(Boolean)) {
      children += treeCpuMs(Number(child));
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND + children;
}

/** Whether CPU times can be read here (Linux with /proc). */
export function canReadCpu(): boolean {
  return safeRead('/proc/self/stat') !== '';
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
