#!/usr/bin/env node
/**
 * The keyvalue provider process: `node providers/keyvalue/dist/main.js` with WASMESH_PROVIDER_ID
 * (required), WASMESH_NATS_URL, WASMESH_LATTICE, WASMESH_HOST_ID, WASMESH_PROVIDER_REF and
 * WASMESH_PROVIDER_CONFIG. Runs until SIGTERM/SIGINT, then drains and exits 0.
 */
import { runProvider } from '@wasmesh/provider-sdk';
import { keyValueProvider } from './provider.js';

await runProvider(keyValueProvider());
