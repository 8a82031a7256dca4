/** App manifest texts the tests deploy: the OAM shape in one place, and the shipped examples made runnable. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APPS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'apps');

/** What {@link localKvcounter} changes in the shipped example. */
export interface KvcounterOptions {
  /** The counter actor's image. */
  image: string;
  /** Where its HTTP server listens. @default 127.0.0.1:0 (a free port) */
  address?: string;
  /** The app version annotation. @default the file's (v0.1.0) */
  version?: string;
  /** Instances of the counter actor. @default the file's (16) */
  instances?: number;
}

/** `deploy/apps/kvcounter-local.yaml` as shipped, with its image, address, version and instances set. */
export function localKvcounter(o: KvcounterOptions): string {
  let text = readFileSync(path.join(APPS_DIR, 'kvcounter-local.yaml'), 'utf8')
    .replace('image: actors/build/kvcounter.wasm', `image: ${o.image}`)
    .replace('address: 127.0.0.1:8080', `address: ${o.address ?? '127.0.0.1:0'}`);
  if (o.version) text = text.replace('version: v0.1.0', `version: ${o.version}`);
  if (o.instances !== undefined) text = text.replace('instances: 16', `instances: ${o.instances}`);
  return text;
}

/** What {@link actorApp} varies. */
export interface ActorAppOptions {
  /** The app's name. */
  name: string;
  /** The actor's image reference (a `sha256:` artifact, `oci://`, `file://` or a path). */
  image: string;
  /** The actor's id. */
  id: string;
  /** The app version annotation. @default v1 */
  version?: string;
  /** Instances of its spreadscaler. @default 1 */
  instances?: number;
  /** YAML lines appended to the spreadscaler's properties (a `spread:` list), indented 12 spaces. */
  spread?: string;
  /** YAML lines appended to the actor's traits (links, more scalers), indented 8 spaces. */
  traits?: string;
  /** YAML lines appended to the components (capabilities), indented 4 spaces. */
  components?: string;
}

/** An app of one actor (component `echo`) with a spreadscaler, and whatever traits and components are added. */
export function actorApp(o: ActorAppOptions): string {
  return `
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: ${o.name}
  annotations:
    version: ${o.version ?? 'v1'}
spec:
  components:
    - name: echo
      type: actor
      properties:
        image: ${o.image}
        id: ${o.id}
      traits:
        - type: spreadscaler
          properties:
            instances: ${o.instances ?? 1}
${o.spread ?? ''}${o.traits ?? ''}${o.components ?? ''}`;
}
