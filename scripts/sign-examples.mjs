#!/usr/bin/env node
// Signs the example actors in actors/build with the development issuer (an account key kept under
// the user's home, created on first use and never committed; see lattice/src/claims/dev-issuer.ts),
// each with the capabilities its source uses, so `wasmesh up` can run them with a trust policy.
// Runs after the TypeScript build (it uses @wasmesh/lattice). Modules already signed by the
// development issuer with those capabilities are left as they are. `testbed` and `testbed-ts` stay unsigned: the
// tests use it on hosts without a policy, and sign it themselves when they need it signed.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { accountKeyPair, devIssuerPath, devIssuerSeed, readClaims, signModule } from '@wasmesh/lattice';
import { actorNames, actorPath, componentActorNames } from '../actors/scripts/paths.mjs';

/** The contracts each example calls or is linked to (read from its source). */
const CAPS = {
  echo: [],
  fib: [],
  hello: ['wasmesh:httpserver'],
  'hello-ts': ['wasmesh:httpserver'],
  'kvcounter-ts': ['wasmesh:keyvalue', 'wasmesh:httpserver'],
  kvcounter: ['wasmesh:keyvalue', 'wasmesh:httpserver'],
  responder: ['wasmesh:messaging'],
};
const UNSIGNED = new Set(['testbed', 'testbed-ts']);

const issuer = accountKeyPair(devIssuerSeed(), `seed in ${devIssuerPath()}`);
const issuerKey = issuer.getPublicKey();
const same = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
const signed = [];
for (const name of [...actorNames(), ...componentActorNames()]) {
  if (UNSIGNED.has(name)) continue;
  const caps = CAPS[name];
  if (!caps) {
    process.stderr.write(
      `sign: actors/${name} has no capabilities listed in scripts/sign-examples.mjs; left unsigned\n`,
    );
    continue;
  }
  const file = actorPath(name);
  const wasm = readFileSync(file);
  const current = readClaims(wasm);
  if (current.verdict === 'valid' && current.claims.issuer === issuerKey && same(current.claims.caps, caps)) continue;
  const out = signModule(wasm, { issuer, name, caps, ...(current.claims ? { subject: current.claims.subject } : {}) });
  // Write then rename, so a host reading the file never sees half of it.
  const tmp = path.join(path.dirname(file), `.${name}.${process.pid}.wasm`);
  writeFileSync(tmp, out.wasm);
  renameSync(tmp, file);
  signed.push(name);
}
process.stdout.write(
  `sign: example actors signed by the development issuer ${issuerKey}${signed.length ? ` (now: ${signed.join(', ')})` : ''}\n`,
);
