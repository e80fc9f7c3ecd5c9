/**
 * Presence across nodes (SPEC 1, 9): each node counts its own clients' open rooms (as the
 * in-process tracker does) and mirrors "user U has room R open on node N" into a Redis hash per
 * room. Readers keep only entries of live nodes (NodeRegistry), so a crashed node's clients stop
 * being present within the heartbeat TTL. While Redis is away, readers see this node's clients only.
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../distributed/redis-client.js';
import { type EventSink, PresenceUnavailableError } from '../services/context.js';
import { ConnectionCounts } from './connection-counts.js';
import type { NodeRegistry } from './node-registry.js';
import type { PresenceTracker } from './types.js';

const roomKey = (roomId: string) => `${KEY_PREFIX}presence:${roomId}`;

export class RedisPresence implements PresenceTracker {
  /** This node's clients (the truth for this node; Redis mirrors it for the others). */
  private readonly local = new ConnectionCounts();

  constructor(
    private readonly redis: Redis,
    private readonly registry: NodeRegistry,
    private readonly events: EventSink,
  ) {
    // After an outage, write this node's view back (what changed meanwhile was not mirrored).
    redis.on('ready', () => void this.resync());
  }

  private field(userId: string): string {
    return `${this.registry.nodeId}|${userId}`;
  }

  open(roomId: string, userId: string): void {
    if (!this.local.increment(roomId, userId)) return;
    void this.redis.hset(roomKey(roomId), this.field(userId), '1').catch(() => {});
    this.events.publish({ type: 'presence.changed', roomId, userId, present: true });
  }

  close(roomId: string, userId: string): void {
    if (!this.local.decrement(roomId, userId)) return;
    void (async () => {
      try {
        await this.redis.hdel(roomKey(roomId), this.field(userId));
      } catch {
        /* Redis away: the entry dies with this node's heartbeat or is fixed by resync */
      }
      // Still present through another node? Then nothing changed for the room.
      if (!(await this.presentUserIds(roomId)).has(userId)) {
        this.events.publish({ type: 'presence.changed', roomId, userId, present: false });
      }
    })();
  }

  async presentUserIds(roomId: string, options: { complete?: boolean } = {}): Promise<ReadonlySet<string>> {
    const mine = this.local.users(roomId);
    let fields: string[];
    try {
      fields = await this.redis.hkeys(roomKey(roomId));
    } catch (e) {
      if (options.complete) throw new PresenceUnavailableError(e);
      return mine;
    }
    const live = this.registry.liveNodes();
    const present = new Set(mine);
    const stale: string[] = [];
    for (const f of fields) {
      const bar = f.indexOf('|');
      const node = f.slice(0, bar);
      if (node === this.registry.nodeId) continue; // this node's truth is `local`
      if (live.has(node)) present.add(f.slice(bar + 1));
      else stale.push(f);
    }
    // Entries of dead nodes are cleaned up lazily by whoever reads them.
    if (stale.length > 0) void this.redis.hdel(roomKey(roomId), ...stale).catch(() => {});
    return present;
  }

  private async resync(): Promise<void> {
    try {
      for (const [roomId, users] of this.local.entries()) {
        const key = roomKey(roomId);
        const existing = (await this.redis.hkeys(key)).filter((f) => f.startsWith(`${this.registry.nodeId}|`));
        const want = new Set([...users.keys()].map((u) => this.field(u)));
        const drop = existing.filter((f) => !want.has(f));
        if (drop.length > 0) await this.redis.hdel(key, ...drop);
        if (want.size > 0) await this.redis.hset(key, Object.fromEntries([...want].map((f) => [f, '1'])));
      }
    } catch {
      /* tried again at the next reconnect */
    }
  }

  /** On shutdown: this node's clients are no longer present anywhere. */
  async clear(): Promise<void> {
    try {
      for (const [roomId, users] of this.local.entries()) await this.redis.hdel(roomKey(roomId), ...[...users.keys()].map((u) => this.field(u)));
    } catch {
      /* the heartbeat TTL covers it */
    }
    this.local.clear();
  }
}
