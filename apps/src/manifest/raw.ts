/**
 * The manifest as written, once it passed the JSON Schema: the shape `semantic.ts` checks and
 * `model.ts` normalizes. Optional fields are exactly the schema's optional fields.
 */
import type { ProviderMode } from '@wasmesh/lattice';

/** String keys to string values. */
export type StringMap = Record<string, string>;

/** `config`: a map (inline, owned) or a list merged in order. */
export type RawConfig = StringMap | RawConfigEntry[];

/** One entry of a config list: `{name}`, `{properties}` or `{name, properties}`. */
export interface RawConfigEntry {
  name?: string;
  properties?: StringMap;
}

/** A spread of a scaler (`weight` only in spreadscalers). */
export interface RawSpread {
  name: string;
  requirements?: StringMap;
  weight?: number;
}

/** A trait: the schema checked `properties` against the trait type. */
export type RawTrait =
  | { type: 'spreadscaler'; properties: { instances: number; spread?: RawSpread[] } }
  | { type: 'daemonscaler'; properties?: { instances?: number; spread?: RawSpread[] } }
  | { type: 'link'; properties: RawLink };

/** The properties of a link trait. */
export interface RawLink {
  target: string;
  contract: string;
  name?: string;
  config?: RawConfig;
}

/** The properties of a component (actor fields and capability fields; the schema kept them apart). */
export interface RawComponentProperties {
  image?: string;
  id?: string;
  application?: { name: string; component: string };
  config?: RawConfig;
  /** Capabilities only: where the provider runs (absent: the host's default). */
  mode?: ProviderMode;
}

/** One component. */
export interface RawComponent {
  name: string;
  type: 'actor' | 'component' | 'capability';
  properties: RawComponentProperties;
  traits?: RawTrait[];
}

/** The whole manifest. */
export interface RawManifest {
  apiVersion: 'core.oam.dev/v1beta1';
  kind: 'Application';
  metadata: {
    name: string;
    annotations: StringMap & { version: string };
    labels?: StringMap;
  };
  spec: { components: RawComponent[] };
}
