/**
 * The gauges of a host, read when metrics are collected (not kept up to date on every change):
 * actors running and the invocations of each in flight, wasm pool slots in use and available, and
 * per provider its health and restarts.
 */
import type { BatchObservableCallback } from '@opentelemetry/api';
import { meter } from '@wasmesh/lattice';
import type { SupervisedProvider } from '../providers/supervised-provider.js';
import type { ActorRuntime } from '../runtime/runtime.js';

/** What the gauges read. */
export interface HostGauges {
  actors: ReadonlyMap<string, { readonly inFlight: number }>;
  providers: ReadonlyMap<string, SupervisedProvider>;
  runtime: ActorRuntime;
}

/** Observes `host` until the returned function is called (the host stopped). */
export function observeHost(host: HostGauges): () => void {
  const m = meter();
  const actors = m.createObservableGauge('wasmesh.actors.running', {
    description: 'Actors this host runs',
    unit: '{actor}',
  });
  const inFlight = m.createObservableUpDownCounter('wasmesh.actor.invocations.in_flight', {
    description: 'Actor invocations running on this host now',
    unit: '{invocation}',
  });
  const slotsInUse = m.createObservableGauge('wasmesh.pool.slots.in_use', {
    description: 'Wasm instance slots of the pool running an invocation now',
    unit: '{slot}',
  });
  const slotsMax = m.createObservableGauge('wasmesh.pool.slots.limit', {
    description: 'Wasm instance slots of the pool (invocations beyond wait for one)',
    unit: '{slot}',
  });
  const health = m.createObservableGauge('wasmesh.provider.healthy', {
    description: 'Whether a provider this host supervises passed its last health check (1) or not (0)',
    unit: '1',
  });
  const restarts = m.createObservableCounter('wasmesh.provider.restarts', {
    description: 'Times a provider this host supervises was restarted after ending on its own',
    unit: '{restart}',
  });
  const observe: BatchObservableCallback = (result) => {
    result.observe(actors, host.actors.size);
    for (const [id, actor] of host.actors) result.observe(inFlight, actor.inFlight, { 'wasmesh.actor.id': id });
    const pool = host.runtime.stats();
    result.observe(slotsInUse, pool.instancesInUse);
    result.observe(slotsMax, pool.maxInstances);
    for (const p of host.providers.values()) {
      const attributes = { 'wasmesh.provider.id': p.id, 'wasmesh.provider.mode': p.mode };
      result.observe(health, p.healthy ? 1 : 0, attributes);
      result.observe(restarts, p.restarts, attributes);
    }
  };
  const observables = [actors, inFlight, slotsInUse, slotsMax, health, restarts];
  m.addBatchObservableCallback(observe, observables);
  return () => m.removeBatchObservableCallback(observe, observables);
}
