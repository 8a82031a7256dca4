/**
 * The roles of a secured lattice and the NATS permissions each one gets — enforced by nats-server,
 * not by wasmesh's good manners.
 *
 * Each role is a *scoped signing key* of the lattice's NATS account: a user JWT signed with it gets
 * exactly the role's permission template, whatever the JWT itself claims, so a leaked or misused
 * signing key can mint only users of that role. Templates pin identities with the user JWT's
 * `name` (`{{name()}}`: the host id of a host, the provider id of a provider) and give every user
 * its own inbox prefix (`{{subject()}}`: the user's public key), so nobody reads another user's
 * replies. The account itself is per lattice: two lattices on one server share nothing.
 *
 * What each role may do (L = the lattice):
 *   admin     everything in the lattice's account (CLI, gateway, reconciler).
 *   reader    ping and inventory of hosts, claims, events, spy on invocations (no queue groups, so
 *             it can never take a call), read-only JetStream. Nothing that changes state.
 *   host      its own control subjects (`ctl.….<hostId>`), lattice-wide queries, actor rpc subjects
 *             (queue groups), events published as itself only, calls to actors and providers,
 *             provider health checks, JetStream reads, claims, the provider registry (it removes
 *             the entries of providers it supervised that died) and large-payload writes. Actor
 *             and provider ids share the rpc namespace, so a host credential could also serve a
 *             provider's id: hosts are trusted that far, as they run the providers anyway.
 *   provider  its own rpc and health subjects (queue groups), events as itself only, calls to
 *             actors, JetStream reads, the provider registry and non-lattice KV buckets (the
 *             keyvalue provider's data). No control subjects; no other id's rpc subscriptions;
 *             no writes to links, config, apps, leases or claims.
 *   app       application messaging on any subject outside the lattice's own (`wasmesh.>`) and
 *             JetStream's: what the messaging provider bridges to actors, and what an application
 *             client uses to talk to them.
 */
import type { Subjects } from '../subjects.js';

/** A role a credential is issued for. */
export type Role = 'admin' | 'reader' | 'host' | 'provider' | 'app';

/** Every role, in the order the docs list them. */
export const ROLES: readonly Role[] = Object.freeze(['admin', 'reader', 'host', 'provider', 'app']);

/** Subject permissions of one role (the subset of a NATS user JWT's `nats` claims we set). */
export interface RolePermissions {
  pub: { allow: string[]; deny: string[] };
  sub: { allow: string[]; deny: string[] };
  /** Reply rights: a responder may publish `max` replies to each request's reply subject. */
  resp?: { max: number; ttl: number };
}

/** The lattice's own KV buckets that only admins may write (hosts may also write `claims`). */
const ADMIN_BUCKETS = ['links', 'config', 'apps', 'app_status', 'leases'];

/**
 * The inbox prefix of the user whose public key is `userKey` (the connection's `inboxPrefix`).
 * Not under `_INBOX`: `app` users keep NATS's default inboxes (any NATS client works), and must
 * not see the replies the lattice's own processes get.
 */
export function inboxPrefixOf(userKey: string): string {
  return `${LATTICE_INBOX_ROOT}.${userKey}`;
}

/** The root of every lattice process's inbox subjects. */
const LATTICE_INBOX_ROOT = '_INBOX_WASMESH';

/** JetStream reads (stream and consumer info, direct gets, ordered consumers) shared by every non-admin role. */
const JS_READ = [
  '$JS.API.INFO',
  '$JS.API.STREAM.INFO.*',
  '$JS.API.STREAM.NAMES',
  '$JS.API.STREAM.LIST',
  '$JS.API.STREAM.MSG.GET.*',
  '$JS.API.DIRECT.GET.>',
  '$JS.API.CONSUMER.CREATE.>',
  '$JS.API.CONSUMER.INFO.>',
  '$JS.API.CONSUMER.DELETE.>',
  '$JS.FC.>',
];

/** What `app` users may neither publish nor subscribe to: the lattice's and JetStream's subjects. */
const APP_DENY = ['wasmesh.>', '$JS.>', '$KV.>', '$O.>', '$SYS.>', `${LATTICE_INBOX_ROOT}.>`];

/** The permission template of `role` in the lattice of `subjects`. */
export function rolePermissions(subjects: Subjects, role: Role): RolePermissions {
  const L = subjects.lattice;
  const ctl = `wasmesh.ctl.v1.${L}`;
  const evt = `wasmesh.evt.v1.${L}`;
  const rpc = `wasmesh.rpc.v1.${L}`;
  const inbox = `${inboxPrefixOf('{{subject()}}')}.>`;
  const kv = (kind: string): string => `$KV.${subjects.bucket(kind)}.>`;
  const objects = `$O.${subjects.objectStore()}.>`;
  const createBuckets = '$JS.API.STREAM.CREATE.*';
  switch (role) {
    case 'admin':
      return { pub: { allow: ['>'], deny: [] }, sub: { allow: ['>'], deny: [] }, resp: { max: 1, ttl: 0 } };
    case 'reader':
      return {
        pub: {
          allow: [
            subjects.control('host.ping'),
            `${ctl}.host.inventory.*`,
            subjects.control('claims.get'),
            // `spy` asks hosts to mirror an actor's local calls (they never cross NATS otherwise).
            subjects.control('spy.watch'),
            ...JS_READ,
          ],
          deny: [],
        },
        // Watching invocations and their answers (`spy`: answers go to the callers' inboxes) is
        // allowed — it shows no more than the KV reads a reader has anyway — and joining their
        // queue groups (answering them) is not.
        sub: { allow: [`${evt}.>`, `${rpc}.>`, '_INBOX.>', `${LATTICE_INBOX_ROOT}.>`], deny: [`${rpc}.> >`] },
      };
    case 'host':
      return {
        pub: {
          allow: [
            `${evt}.*.{{name()}}`,
            `${rpc}.>`,
            `${ctl}.provider.health.*`,
            ...JS_READ,
            createBuckets,
            kv('claims'),
            kv('providers'),
            objects,
          ],
          deny: [],
        },
        sub: {
          allow: [
            `${ctl}.*.*.{{name()}}`,
            subjects.control('host.ping'),
            subjects.control('actor.auction'),
            subjects.control('claims.get'),
            subjects.control('spy.watch'),
            // Actors' subjects, and providers' for the providers running inside the host.
            `${rpc}.*`,
            `${rpc}.provider.*`,
            `${evt}.>`,
            inbox,
          ],
          deny: [],
        },
        resp: { max: 1, ttl: 0 },
      };
    case 'provider':
      return {
        pub: {
          allow: [`${evt}.*.{{name()}}`, `${rpc}.>`, ...JS_READ, createBuckets, '$KV.>', objects],
          deny: [...ADMIN_BUCKETS, 'claims'].map(kv),
        },
        sub: {
          allow: [`${rpc}.provider.{{name()}}`, `wasmesh.ctl.v1.${L}.provider.health.{{name()}}`, `${evt}.>`, inbox],
          deny: [],
        },
        resp: { max: 1, ttl: 0 },
      };
    case 'app':
      return {
        pub: { allow: ['>'], deny: APP_DENY },
        sub: { allow: ['>'], deny: APP_DENY },
        resp: { max: 1, ttl: 0 },
      };
  }
}
