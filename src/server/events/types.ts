/**
 * Fan-out of domain events between the services that commit them and the gateways that deliver
 * them (SPEC 5). Services publish after the commit; the store stays the source of truth
 * (RELIABILITY D-7), so a bus may lose or reorder events: the gateway orders messages by seq and
 * fills gaps from the store.
 *
 * Two implementations: InProcessBus (in-process.ts) for one node, RedisBus (redis.ts) for several,
 * with a StorePoller (store-poller.ts) as its safety net. contract.test.ts runs the same cases on each.
 */
import type { DomainEvent, EventSink } from '../services/context.js';

export type BusHandler = (event: DomainEvent) => void;

export interface Bus extends EventSink {
  publish(event: DomainEvent): void;
  /** Receives every event published from now on (on any node); returns the unsubscribe function. */
  subscribe(handler: BusHandler): () => void;
}
