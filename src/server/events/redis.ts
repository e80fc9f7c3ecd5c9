/**
 * Cross-node fan-out (SPEC 9): events are handled locally at once and published to every other
 * node through Redis pub/sub, after the commit. Pub/sub is at-most-once (RELIABILITY [REDIS-PS]),
 * so the store stays the source of truth: gateways fill seq gaps from it, and a poller
 * (store-poller.ts) hands them each active room's latest message — every second while Redis is
 * away, as a slow safety net otherwise — so delivery goes on within ≤ 2 s when pub/sub cannot
 * carry it (D-6, D-8).
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../distributed/redis-client.js';
import type { DomainEvent } from '../services/context.js';
import { InProcessBus } from './in-process.js';
import type { Bus, BusHandler } from './types.js';

const CHANNEL = `${KEY_PREFIX}events`;

export class RedisBus implements Bus {
  private readonly local: InProcessBus;
  /** Events that could not be published to the other nodes (Redis away). */
  publishFailures = 0;

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly nodeId: string,
    onHandlerError: (err: unknown, event: DomainEvent) => void,
  ) {
    this.local = new InProcessBus(onHandlerError);
    sub.on('message', (channel: string, text: string) => {
      if (channel !== CHANNEL) return;
      let parsed: { n: string; e: DomainEvent };
      try {
        parsed = JSON.parse(text) as { n: string; e: DomainEvent };
      } catch {
        return;
      }
      if (parsed.n !== this.nodeId) this.local.publish(parsed.e);
    });
    // (Re)subscribe on every connection: a fresh connection after an outage has no subscriptions.
    sub.on('ready', () => void sub.subscribe(CHANNEL).catch(() => {}));
    if (sub.status === 'ready') void sub.subscribe(CHANNEL).catch(() => {});
  }

  /** True while events from other nodes can arrive. */
  get healthy(): boolean {
    return this.sub.status === 'ready' && this.pub.status === 'ready';
  }

  publish(event: DomainEvent): void {
    this.local.publish(event);
    this.pub.publish(CHANNEL, JSON.stringify({ n: this.nodeId, e: event })).catch(() => {
      this.publishFailures++;
    });
  }

  /** Delivers an event to this node's subscribers only (the poller's repairs). */
  publishLocal(event: DomainEvent): void {
    this.local.publish(event);
  }

  subscribe(handler: BusHandler): () => void {
    return this.local.subscribe(handler);
  }
}
