/**
 * Output of host-side commands: a human-readable guest log on stderr. Errors and exit statuses
 * are reported with the shared helpers of @wasmesh/lattice (`reportError`).
 */
import { destination, pino } from 'pino';
import type { Logger } from '@wasmesh/lattice';

/** A logger that prints guest log lines as `[actor] line` on stderr (or JSON lines when `json`). */
export function terminalLogger(json: boolean): Logger {
  const level = process.env.WASMESH_LOG_LEVEL ?? 'info';
  if (json) return pino({ level, base: { component: 'cli' } }, destination({ fd: 2, sync: true }));
  return pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string): void {
        const o = JSON.parse(line) as { actor?: string; msg?: string; level?: number };
        const tag = o.actor ? `[${o.actor}] ` : '';
        process.stderr.write(`${tag}${o.msg ?? ''}\n`);
      },
    },
  );
}
