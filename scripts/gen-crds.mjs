#!/usr/bin/env node
// The Application CRD (deploy/crds/applications.core.oam.dev.yaml) is generated from the manifest's
// JSON Schema (apps/schema/wasmesh-app.schema.json), the one source of truth for what a manifest
// may contain, so the apiserver refuses what `wasmesh app validate` refuses. Kubernetes wants a
// *structural* schema (no $ref, no const, no if/then/else, a type on every node, properties XOR
// additionalProperties), so this script:
//   - inlines every $ref and turns const into a one-value enum;
//   - drops `additionalProperties: false` (the apiserver prunes unknown fields, and kubectl's default
//     strict field validation refuses them by name);
//   - marks open nodes (`type: object` without properties, a union type) x-kubernetes-preserve-unknown-fields;
//   - turns `allOf: [{if: {properties: {type: {const: V}}}, then, else}]` into the union of the
//     branches' schemas plus CEL rules (x-kubernetes-validations) that require and forbid, per
//     value of the discriminator, what the branch requires and forbids;
//   - keeps the root `metadata.name` pattern (the only metadata the apiserver lets a CRD restrict).
// Any keyword it does not know makes it fail, so a schema change cannot be silently dropped.
// The CRDs are then copied into the Helm chart (deploy/helm/wasmesh/crds/), which cannot follow a
// symlink out of the chart.
//
//   node scripts/gen-crds.mjs           write the files
//   node scripts/gen-crds.mjs --check   exit 1 if a committed file differs from what would be written
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = path.join(root, 'apps', 'schema', 'wasmesh-app.schema.json');
const CRDS = path.join(root, 'deploy', 'crds');
const APPLICATION_CRD = path.join(CRDS, 'applications.core.oam.dev.yaml');
const CHART_CRDS = path.join(root, 'deploy', 'helm', 'wasmesh', 'crds');

/** Keywords copied as they are (validations Kubernetes supports with the same meaning). */
const COPIED = [
  'description',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
];

function fail(where, message) {
  throw new Error(`gen-crds: ${where}: ${message}`);
}

/** The schema at a local `#/definitions/x` reference. */
function deref(schema, ref, where) {
  const m = /^#\/definitions\/([A-Za-z0-9_]+)$/.exec(ref);
  if (!m || !schema.definitions?.[m[1]]) fail(where, `unsupported $ref ${ref}`);
  return schema.definitions[m[1]];
}

/** `node` with its $ref inlined (the referring node's own keywords, e.g. description, win). */
function resolved(schema, node, where) {
  if (node.$ref === undefined) return node;
  const { $ref, ...rest } = node;
  return { ...resolved(schema, deref(schema, $ref, where), where), ...rest };
}

/** The structural (Kubernetes) form of JSON Schema `node`. */
function structural(schema, input, where) {
  const node = resolved(schema, input, where);
  const known = new Set([
    ...COPIED,
    'type',
    'properties',
    'required',
    'additionalProperties',
    'items',
    'const',
    'allOf',
    '$ref',
  ]);
  for (const key of Object.keys(node)) if (!known.has(key)) fail(where, `unsupported keyword ${key}`);
  const out = {};
  if (node.description !== undefined) out.description = node.description;
  if (Array.isArray(node.type)) {
    // A union type (config: a map or a list) cannot be typed: keep it whole and let the reconciler check it.
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  if (node.type === undefined) fail(where, 'no type');
  out.type = node.type;
  for (const key of COPIED) if (key !== 'description' && node[key] !== undefined) out[key] = node[key];
  if (node.const !== undefined) out.enum = [node.const];
  if (node.type === 'array') {
    if (!node.items) fail(where, 'array without items');
    out.items = structural(schema, node.items, `${where}[]`);
  }
  if (node.type === 'object') {
    if (node.properties) {
      out.properties = {};
      for (const [name, sub] of Object.entries(node.properties)) {
        out.properties[name] = structural(schema, sub, `${where}.${name}`);
      }
      if (node.required) out.required = [...node.required];
      if (typeof node.additionalProperties === 'object')
        fail(where, 'properties together with an additionalProperties schema');
      if (node.allOf) applyConditionals(schema, node.allOf, out, where);
    } else if (typeof node.additionalProperties === 'object') {
      out.additionalProperties = structural(schema, node.additionalProperties, `${where}.*`);
    } else {
      if (node.allOf) fail(where, 'allOf on an object without properties');
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
  } else if (node.allOf) {
    fail(where, 'allOf on a non-object');
  }
  return out;
}

/** Merges structural schemas `a` and `b` (two branches of a conditional) into one accepting both. */
function union(a, b, where) {
  if (a['x-kubernetes-preserve-unknown-fields'] || b['x-kubernetes-preserve-unknown-fields']) {
    if (a.type !== b.type || a.properties || b.properties) fail(where, 'cannot merge an open node with another');
    return a;
  }
  if (a.type !== b.type) fail(where, `branches disagree on the type (${a.type}, ${b.type})`);
  const out = { ...a };
  for (const key of Object.keys({ ...a, ...b })) {
    if (['description', 'properties', 'required', 'items', 'x-kubernetes-validations'].includes(key)) continue;
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) fail(where, `branches disagree on ${key}`);
  }
  if (a.items) out.items = union(a.items, b.items, `${where}[]`);
  if (a.properties || b.properties) {
    out.properties = { ...a.properties };
    for (const [name, sub] of Object.entries(b.properties ?? {})) {
      out.properties[name] = out.properties[name] ? union(out.properties[name], sub, `${where}.${name}`) : sub;
    }
    const required = (a.required ?? []).filter((r) => (b.required ?? []).includes(r));
    if (required.length) out.required = required;
    else delete out.required;
  }
  const rules = [...(a['x-kubernetes-validations'] ?? []), ...(b['x-kubernetes-validations'] ?? [])];
  if (rules.length) out['x-kubernetes-validations'] = rules;
  return out;
}

/**
 * CEL rules that hold `value` (an expression) to what `branch` requires and forbids beyond
 * `merged`: its required fields present, fields only other branches have absent. One level only:
 * a rule that iterated a list inside the (unbounded) traits would exceed the apiserver's CEL cost
 * budget, so e.g. a `weight` on a daemonscaler spread passes here and is refused by the reconciler.
 */
function branchChecks(value, branch, merged) {
  const checks = [];
  for (const name of branch.required ?? []) {
    if (!(merged.required ?? []).includes(name)) {
      checks.push({
        field: name,
        cel: `has(${value}.${name})`,
        message: 'required',
        reason: 'FieldValueRequired',
      });
    }
  }
  for (const [name, sub] of Object.entries(merged.properties ?? {})) {
    // An open node (config) is invisible to CEL: the reconciler checks it.
    if (!branch.properties?.[name] && !sub['x-kubernetes-preserve-unknown-fields']) {
      checks.push({
        field: name,
        cel: `!has(${value}.${name})`,
        message: 'unknown field',
        reason: 'FieldValueForbidden',
      });
    }
  }
  return checks;
}

/**
 * Applies `allOf: [{if: {properties: {D: {const: V}}, required: [D]}, then, else}]` to the
 * structural object `out`: each property a branch refines becomes the union of its refinements,
 * and CEL rules on `out` make each branch's requirements hold when the discriminator has its value.
 */
function applyConditionals(schema, allOf, out, where) {
  const branches = []; // { when: CEL condition, words: for messages, schema: then/else }
  for (const [i, entry] of allOf.entries()) {
    const keys = Object.keys(entry).filter((k) => !['if', 'then', 'else'].includes(k));
    const cond = entry.if?.properties && Object.entries(entry.if.properties);
    if (
      keys.length ||
      !cond ||
      cond.length !== 1 ||
      cond[0][1].const === undefined ||
      Object.keys(entry.if).some((k) => !['properties', 'required'].includes(k))
    ) {
      fail(`${where}.allOf[${i}]`, 'only if {properties: {D: {const: V}}, required: [D]} / then / else is supported');
    }
    const [d, { const: v }] = cond[0];
    const is = `has(self.${d}) && self.${d} == ${JSON.stringify(v)}`;
    if (entry.then) branches.push({ when: is, words: `${d} is ${JSON.stringify(v)}`, schema: entry.then });
    if (entry.else) branches.push({ when: `!(${is})`, words: `${d} is not ${JSON.stringify(v)}`, schema: entry.else });
  }
  // Each refined property: the union of its refinements (the open base node is replaced).
  const refined = {};
  for (const b of branches) {
    for (const key of Object.keys(b.schema)) {
      if (!['properties', 'required'].includes(key)) fail(where, `unsupported keyword ${key} in a then/else branch`);
    }
    b.structural = {};
    for (const [name, sub] of Object.entries(b.schema.properties ?? {})) {
      if (!out.properties[name]) fail(where, `a branch refines unknown property ${name}`);
      const s = structural(schema, sub, `${where}.${name}`);
      b.structural[name] = s;
      refined[name] = refined[name] ? union(refined[name], s, `${where}.${name}`) : s;
    }
  }
  for (const [name, s] of Object.entries(refined)) {
    out.properties[name] = { ...s, description: out.properties[name].description ?? s.description };
  }
  const rules = [];
  for (const b of branches) {
    for (const name of b.schema.required ?? []) {
      if (!(out.required ?? []).includes(name)) {
        rules.push({
          rule: `!(${b.when}) || has(self.${name})`,
          message: `required when ${b.words}`,
          fieldPath: `.${name}`,
          reason: 'FieldValueRequired',
        });
      }
    }
    for (const [name, s] of Object.entries(b.structural)) {
      for (const c of branchChecks(`self.${name}`, s, out.properties[name])) {
        rules.push({
          rule: `!(${b.when}) || !has(self.${name}) || ${c.cel}`,
          message: `${c.message} when ${b.words}`,
          fieldPath: `.${name}.${c.field}`,
          reason: c.reason,
        });
      }
    }
  }
  if (rules.length) out['x-kubernetes-validations'] = [...(out['x-kubernetes-validations'] ?? []), ...rules];
}

/** The openAPIV3Schema of an Application: the manifest schema's spec, and its metadata.name rule. */
function applicationSchema(schema) {
  const name = structural(
    schema,
    resolved(schema, schema.definitions.metadata, 'metadata').properties.name,
    'metadata.name',
  );
  return {
    type: 'object',
    description: schema.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // Only name and generateName may be restricted here; the version annotation is checked by the operator.
      metadata: { type: 'object', properties: { name } },
      spec: structural(schema, schema.properties.spec, 'spec'),
      status: APPLICATION_STATUS,
    },
  };
}

/** metav1.Condition, as every controller writes it (listed by type, so server-side apply merges them). */
const CONDITIONS = {
  type: 'array',
  description: 'The latest observations of the object’s state (metav1.Condition).',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  maxItems: 32,
  items: {
    type: 'object',
    required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
    properties: {
      type: { type: 'string', maxLength: 316, description: 'The condition, in CamelCase (e.g. Ready, Synced).' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: { type: 'string', maxLength: 1024, description: 'Why, in CamelCase, for machines.' },
      message: { type: 'string', maxLength: 32768, description: 'Why, for people.' },
      lastTransitionTime: { type: 'string', format: 'date-time', description: 'When status last changed.' },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    },
  },
};

const APPLICATION_STATUS = {
  type: 'object',
  description: 'What the operator observed of the app in the lattice.',
  properties: {
    phase: {
      type: 'string',
      enum: ['Deployed', 'Reconciling', 'Failed', 'Undeployed'],
      description:
        'Deployed: the lattice runs the deployed version as specified; Reconciling: on its way; Failed: the reconciler refused it or cannot reach it (see the Ready condition); Undeployed: stored, not running.',
    },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'The metadata.generation this status describes.',
    },
    deployedVersion: { type: 'string', description: 'The version the lattice runs.' },
    conditions: CONDITIONS,
  },
};

/** The Application CRD document. */
function applicationCrd(schema) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'applications.core.oam.dev', labels: { 'app.kubernetes.io/part-of': 'wasmesh' } },
    spec: {
      group: 'core.oam.dev',
      scope: 'Namespaced',
      names: {
        kind: 'Application',
        listKind: 'ApplicationList',
        plural: 'applications',
        singular: 'application',
        // `app` is taken by Argo CD and KubeVela; `wmapp` is ours.
        shortNames: ['wmapp'],
        categories: ['wasmesh'],
      },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Version', type: 'string', jsonPath: '.metadata.annotations.version' },
            { name: 'Deployed', type: 'string', jsonPath: '.status.deployedVersion', priority: 1 },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: applicationSchema(schema) },
        },
      ],
    },
  };
}

const HEADER = `# Generated by scripts/gen-crds.mjs from apps/schema/wasmesh-app.schema.json: do not edit.
# Regenerate with \`node scripts/gen-crds.mjs\` (a test checks it is in sync).
`;

/** Every file this script owns, with the content it should have (formatted as `npm run lint` wants). */
async function expectedFiles() {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));
  const yaml = HEADER + stringify(applicationCrd(schema), { lineWidth: 0 });
  const formatted = await format(yaml, { ...(await resolveConfig(APPLICATION_CRD)), filepath: APPLICATION_CRD });
  const files = new Map([[APPLICATION_CRD, formatted]]);
  for (const name of readdirSync(CRDS)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const source = path.join(CRDS, name);
    files.set(path.join(CHART_CRDS, name), files.get(source) ?? readFileSync(source, 'utf8'));
  }
  return files;
}

const check = process.argv.includes('--check');
const expected = await expectedFiles();
let stale = 0;
for (const name of readdirSync(CHART_CRDS)) {
  if (!expected.has(path.join(CHART_CRDS, name))) {
    console.error(`gen-crds: deploy/helm/wasmesh/crds/${name} has no source in deploy/crds/: delete it`);
    stale++;
  }
}
for (const [file, content] of expected) {
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    console.error(`gen-crds: ${path.relative(root, file)} is out of date: run node scripts/gen-crds.mjs`);
    stale++;
  } else {
    writeFileSync(file, content);
    console.log(`gen-crds: wrote ${path.relative(root, file)}`);
  }
}
if (stale) process.exit(1);
