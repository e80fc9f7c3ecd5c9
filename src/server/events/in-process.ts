/**
 * Fan-out of domain events between the services that commit them and the gateways that deliver
 * them (SPEC 5). Services publish after the commit; the store stays the source of truth
 * (RELIABILITY D-7), so a bus may lose or reorder events: the gateway orders messages by seq and
 * fills gaps from the store. In-process now; a Redis bus (issue 8) implements the same interface.
 */
import type { DomainEvent, EventSink } from '../services/context.js';

export type BusHandler = (event: DomainEvent) => void;

export interface Bus extends EventSink {
  publish(event: DomainEvent): void;
  /** Receives every event published from now on (on any node); returns the unsubscribe function. */
  subscribe(handler: BusHandler): () => void;
}

/** The embedded default: one process, handlers called synchronously in publish order. */
export class InProcessBus implements Bus {
  private readonly handlers = new Set<BusHandler>();

  constructor(private readonly onHandlerError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  publish(event: DomainEvent): void {
    for (const handler of [...this.handlers]) {
      // A failing subscriber must not fail the request that committed the event, nor starve the others.
      try {
        handler(event);
      } catch (err) {
        this.onHandlerError(err, event);
      }
    }
  }

  subscribe(handler: BusHandler): () => void {
    // Wrapped so the same function can subscribe twice and unsubscribe each independently.
    const h: BusHandler = (e) => handler(e);
    this.handlers.add(h);
    return () => {
      this.handlers.delete(h);
    };
  }
}
