/** The embedded default bus (types.ts): one process, handlers called synchronously in publish order. */
import type { DomainEvent } from '../services/context.js';
import type { Bus, BusHandler } from './types.js';

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
