/**
 * Which NATS subjects actors may use through the messaging provider.
 *
 * - Every subject is non-empty, has no whitespace and no empty token (no leading, trailing or
 *   double `.`).
 * - Subjects published to or requested (and reply subjects an actor sets) are concrete: no `*` or
 *   `>` at all. NATS would treat `a*` as a literal token, but a publish that looks like a wildcard
 *   is nearly always a mistake, so it is refused rather than sent somewhere surprising.
 * - Subscriptions may use wildcards, as whole tokens only (`a.*.c`, `a.>`), with `>` last.
 * - On the lattice's own NATS connection, the lattice's namespaces are off limits: a subject whose
 *   first token is `wasmesh`, `$JS`, `$KV`, `$O`, `$SYS` or `_INBOX` (control, events and
 *   invocations, JetStream, KV and object store APIs, system account, reply inboxes) would let an
 *   actor forge control commands, read other actors' invocations or answer someone else's request.
 *   Subscriptions whose first token is a bare wildcard (`>`, `*.x`) would see that traffic too, so
 *   they are refused as well. A link with its own NATS server (config `url`) has no such limits:
 *   the lattice does not live there.
 */

/** The first tokens of the lattice's internal subjects (see the module comment). */
export const INTERNAL_FIRST_TOKENS: readonly string[] = Object.freeze([
  'wasmesh',
  '$JS',
  '$KV',
  '$O',
  '$SYS',
  '_INBOX',
]);

/** The subject prefixes refused on the lattice connection, for messages. */
export const INTERNAL_PREFIXES: readonly string[] = Object.freeze(INTERNAL_FIRST_TOKENS.map((t) => `${t}.`));

/** How a subject is used: sent to (publish, request, reply-to) or subscribed to. */
export type SubjectUse = 'send' | 'subscribe';

/**
 * What is wrong with `subject` for `use`, as a phrase that follows the quoted subject ("is
 * empty", …), or `undefined` when it is fine. `onLattice`: the subject is used on the lattice's
 * own NATS connection, where internal subjects are refused.
 */
export function subjectProblem(subject: string, use: SubjectUse, onLattice: boolean): string | undefined {
  if (subject.length === 0) return 'is empty';
  if (/\s/.test(subject)) return 'contains whitespace';
  const tokens = subject.split('.');
  if (tokens.includes('')) return 'has an empty token (a leading, trailing or double ".")';
  for (const [i, token] of tokens.entries()) {
    if (!token.includes('*') && !token.includes('>')) continue;
    if (use === 'send') {
      return `contains the wildcard "${token.includes('*') ? '*' : '>'}": messages are sent to one concrete subject`;
    }
    if (token !== '*' && token !== '>') return `has "${token}": a wildcard ("*" or ">") must be a whole token`;
    if (token === '>' && i !== tokens.length - 1) return 'has ">" before its last token: ">" must be last';
  }
  if (!onLattice) return undefined;
  const first = tokens[0]!;
  if (INTERNAL_FIRST_TOKENS.includes(first)) {
    return (
      `is in the lattice's internal namespace "${first}." (${INTERNAL_PREFIXES.join(', ')} are reserved ` +
      'on the lattice NATS connection); use another subject, or give the link its own NATS server with config key "url"'
    );
  }
  if (first === '*' || first === '>') {
    return (
      `starts with the wildcard "${first}", which would also receive the lattice's internal traffic ` +
      '(wasmesh.>, $JS.>, _INBOX.>, …); start the subscription with a literal token such as "orders.>", ' +
      'or give the link its own NATS server with config key "url"'
    );
  }
  return undefined;
}
