#!/usr/bin/env node
/**
 * The http-server provider process: `node providers/http-server/dist/main.js` with
 * WASMESH_PROVIDER_ID (required), WASMESH_NATS_URL, WASMESH_LATTICE, WASMESH_HOST_ID,
 * WASMESH_PROVIDER_REF and WASMESH_PROVIDER_CONFIG (the named config holding `address` and the
 * limits). Runs until SIGTERM/SIGINT, then drains and exits 0.
 */
import { runProvider } from '@wasmesh/provider-sdk';
import { httpServerProvider } from './provider.js';

await runProvider(httpServerProvider());
