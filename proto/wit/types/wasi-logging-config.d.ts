/**
 * What a TypeScript actor built with componentize-js sees of `wasi:logging@0.1.0-draft` (to the
 * host log) and `wasi:config@0.2.0-draft` (the actor's config); see wasi-keyvalue.d.ts for the
 * mapping of WIT types.
 */
declare module 'wasi:logging/logging@0.1.0-draft' {
  export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'critical';
  /** Writes `message` to the host log at `level`; a non-empty `context` prefixes it. */
  export function log(level: Level, context: string, message: string): void;
}

declare module 'wasi:config/store@0.2.0-draft' {
  /** The WIT `error` variant, the `payload` of what a failed call throws. */
  export type Error = { tag: 'upstream'; val: string } | { tag: 'io'; val: string };
  /** The value of `key` in the actor's config, `undefined` when it has none. */
  export function get(key: string): string | undefined;
  /** Every key and value of the actor's config. */
  export function getAll(): [string, string][];
}
