/**
 * Keys in a JetStream KV bucket are NATS subject tokens: letters, digits and `-_/=.` only, and a
 * dot splits tokens. Actors use any text (`user:42`, `counter:/a b`), so each byte outside
 * `[A-Za-z0-9_/-]` is stored as `=XX` (hex of its UTF-8 byte; `=` itself too). The escape works
 * byte by byte, so the escaped form of a prefix is a prefix of the escaped key: listing by prefix
 * stays a prefix match.
 */

const PLAIN = /^[A-Za-z0-9_/-]$/;

/** The bucket key storing `key`. */
export function escapeKey(key: string): string {
  let out = '';
  for (const ch of key) {
    if (PLAIN.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The key stored as bucket key `stored`; `undefined` when `stored` is not an escaped key (written by someone else). */
export function unescapeKey(stored: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    const ch = stored[i]!;
    if (ch === '=') {
      const hex = stored.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (PLAIN.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
