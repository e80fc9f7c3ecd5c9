/**
 * The Redis bus's safety net (SPEC 9, RELIABILITY D-6, D-8): pub/sub is at-most-once, so every
 * node polls the store for the rooms its clients have open — every second while Redis is away,
 * every few seconds otherwise — and hands the gateway each room's latest event when the room is
 * ahead of what was delivered; the gateway's room channel reads the gap from the store.
 */
import type { Clock } from '../services/context.js';
import type { Store } from '../store/types.js';
import type { RedisBus } from './redis.js';

export interface StorePollerOptions {
  store: Store;
  bus: RedisBus;
  /** Rooms with subscribers on this node, and the last seq each delivered. */
  activeRooms: () => ReadonlyMap<string, number>;
  /** What the poll periods are measured with. */
  clock: Clock;
  /** Poll period while Redis is away (≤ 2 s delivery), and while it is healthy (safety net). */
  degradedMs?: number;
  healthyMs?: number;
}

/** Hands the gateway each active room's latest message when it is ahead of what was delivered. */
export class StorePoller {
  private timer: NodeJS.Timeout | undefined;
  /** Clock time of the last poll: none yet, so the first tick polls. */
  private lastRun = Number.NEGATIVE_INFINITY;
  private running = false;

  constructor(private readonly options: StorePollerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.min(this.options.degradedMs ?? 1000, 1000));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The timer's tick (every second at most): polls once the period for the bus's state has passed. */
  async tick(): Promise<void> {
    const period = this.options.bus.healthy ? (this.options.healthyMs ?? 5000) : (this.options.degradedMs ?? 1000);
    const now = this.options.clock.now();
    if (this.running || now - this.lastRun < period - 50) return;
    this.running = true;
    this.lastRun = now;
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
