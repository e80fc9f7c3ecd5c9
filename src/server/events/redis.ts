/**
 * Cross-node fan-out (SPEC 9): events are handled locally at once and published to every other
 * node through Redis pub/sub, after the commit. Pub/sub is at-most-once (RELIABILITY [REDIS-PS]),
 * so the store stays the source of truth: gateways fill seq gaps from it, and a poller hands them
 * each active room's latest message — every second while Redis is away, as a slow safety net
 * otherwise — so delivery goes on within ≤ 2 s when pub/sub cannot carry it (D-6, D-8).
 */
import type { Redis } from 'ioredis';
import { type Bus, type BusHandler, InProcessBus } from './in-process.js';
import type { DomainEvent } from '../services/context.js';
import type { Store } from '../store/types.js';
import { KEY_PREFIX } from '../distributed/redis-client.js';

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

export interface StorePollerOptions {
  store: Store;
  bus: RedisBus;
  /** Rooms with subscribers on this node, and the last seq each delivered. */
  activeRooms: () => ReadonlyMap<string, number>;
  /** Poll period while Redis is away (≤ 2 s delivery), and while it is healthy (safety net). */
  degradedMs?: number;
  healthyMs?: number;
}

/** Hands the gateway each active room's latest message when it is ahead of what was delivered. */
export class StorePoller {
  private timer: NodeJS.Timeout | undefined;
  private lastRun = 0;
  private running = false;

  constructor(private readonly options: StorePollerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.min(this.options.degradedMs ?? 1000, 1000));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const period = this.options.bus.healthy ? (this.options.healthyMs ?? 5000) : (this.options.degradedMs ?? 1000);
    if (this.running || Date.now() - this.lastRun < period - 50) return;
    this.running = true;
    this.lastRun = Date.now();
    try {
      await this.pollOnce();
    } catch {
      /* store away: the next tick tries again */
    } finally {
      this.running = false;
    }
  }

  async pollOnce(): Promise<void> {
    for (const [roomId, position] of this.options.activeRooms()) {
      const room = await this.options.store.getRoom(roomId);
      if (!room || room.lastSeq <= position) continue;
      // The room's last event (a message or a change of one): the gateway's room channel sees the
      // gap up to its seq and reads the rest from the store.
      const [latest] = await this.options.store.listRoomEvents(roomId, room.lastSeq - 1, 1);
      if (latest?.kind === 'created') this.options.bus.publishLocal({ type: 'message.created', message: latest.message });
      else if (latest) this.options.bus.publishLocal({ type: 'message.changed', event: latest });
    }
  }
}
