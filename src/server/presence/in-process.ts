/**
 * The embedded default presence (types.ts): counted in this process, for one node. Several nodes
 * use RedisPresence (redis.ts), which counts the same way and mirrors the counts into Redis.
 */
import type { EventSink } from '../services/context.js';
import { ConnectionCounts } from './connection-counts.js';
import type { PresenceTracker } from './types.js';

export class InProcessPresence implements PresenceTracker {
  private readonly counts = new ConnectionCounts();

  constructor(private readonly events: EventSink) {}

  open(roomId: string, userId: string): void {
    if (this.counts.increment(roomId, userId)) this.events.publish({ type: 'presence.changed', roomId, userId, present: true });
  }

  close(roomId: string, userId: string): void {
    if (this.counts.decrement(roomId, userId)) this.events.publish({ type: 'presence.changed', roomId, userId, present: false });
  }

  async presentUserIds(roomId: string): Promise<ReadonlySet<string>> {
    return this.counts.users(roomId);
  }
}
