#!/usr/bin/env node
// The `wasmesh-operator` bin: a committed shim, so npm links it on the first install (see scripts/run-built.mjs).
import { runBuilt } from '../../../scripts/run-built.mjs';

await runBuilt(import.meta.url, '../dist/bin/wasmesh-operator.js');
