#!/usr/bin/env node
/**
 * The messaging provider process: `node providers/messaging/dist/main.js` with WASMESH_PROVIDER_ID
 * (required), WASMESH_NATS_URL, WASMESH_LATTICE, WASMESH_HOST_ID, WASMESH_PROVIDER_REF and
 * WASMESH_PROVIDER_CONFIG; a host starts it as `builtin:messaging`. Runs until SIGTERM/SIGINT,
 * then drains (subscriptions first, then the deliveries in flight) and exits 0.
 */
import { runProvider } from '@wasmesh/provider-sdk';
import { messagingProvider } from './provider.js';

await runProvider(messagingProvider());
