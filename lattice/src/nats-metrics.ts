/**
 * What every wasmesh process records of its NATS connections: bytes and messages each way and
 * reconnects, so an operator sees a lattice's bus traffic and its flapping links per process.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { BatchObservableCallback } from '@opentelemetry/api';
import { meter } from './metrics.js';

/**
 * Observes `nc` until it closes, under the connection name `name`; returns the function that
 * counts one reconnect (called by the connection's status loop).
 */
export function observeNats(nc: NatsConnection, name: string): () => void {
  const m = meter();
  const bytes = m.createObservableCounter('wasmesh.nats.io', {
    description: 'Bytes this process received from and sent to NATS',
    unit: 'By',
  });
  const messages = m.createObservableCounter('wasmesh.nats.messages', {
    description: 'Messages this process received from and sent to NATS',
    unit: '{message}',
  });
  const reconnectCount = m.createObservableCounter('wasmesh.nats.reconnects', {
    description: 'Times this process reconnected to NATS after losing its connection',
    unit: '{reconnect}',
  });
  const receive = { 'nats.connection': name, 'network.io.direction': 'receive' };
  const transmit = { 'nats.connection': name, 'network.io.direction': 'transmit' };
  const connection = { 'nats.connection': name };
  let reconnects = 0;
  const observe: BatchObservableCallback = (result) => {
    const s = nc.stats();
    result.observe(bytes, s.inBytes, receive);
    result.observe(bytes, s.outBytes, transmit);
    result.observe(messages, s.inMsgs, receive);
    result.observe(messages, s.outMsgs, transmit);
    result.observe(reconnectCount, reconnects, connection);
  };
  const observables = [bytes, messages, reconnectCount];
  m.addBatchObservableCallback(observe, observables);
  void nc.closed().then(() => m.removeBatchObservableCallback(observe, observables));
  return () => {
    reconnects++;
  };
}
