/**
 * Which Carillon nodes are alive: each node heartbeats its id into a sorted set scored by time;
 * entries older than the TTL are dead. A node killed with -9 stops counting within `ttlMs`, so its
 * clients stop being present and the per-node fallback rate uses the right N.
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../distributed/redis-client.js';
import type { Clock } from '../services/context.js';

const NODES_KEY = `${KEY_PREFIX}nodes`;

export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  private live = new Set<string>();
  /** The last node count seen (at least 1: this node), kept while Redis is away. */
  lastKnownNodeCount = 1;

  constructor(
    private readonly redis: Redis,
    readonly nodeId: string,
    /** Heartbeat times; every node of a deployment must read the same time (the system clock). */
    private readonly clock: Clock,
    private readonly options: { heartbeatMs?: number; ttlMs?: number } = {},
  ) {}

  get ttlMs(): number {
    return this.options.ttlMs ?? 6000;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs ?? 2000);
    this.timer.unref();
  }

  /** Refreshes this node's heartbeat and the set of live nodes. */
  async beat(): Promise<void> {
    const now = this.clock.now();
    try {
      const [, , members] = (await this.redis
        .multi()
        .zadd(NODES_KEY, String(now), this.nodeId)
        .zremrangebyscore(NODES_KEY, '-inf', String(now - this.ttlMs))
        .zrange(NODES_KEY, '0', '-1')
        .exec())!.map(([err, value]) => {
        if (err) throw err;
        return value;
      }) as [unknown, unknown, string[]];
      this.live = new Set(members);
      this.lastKnownNodeCount = Math.max(1, this.live.size);
    } catch {
      // Redis away: keep the last view; callers run degraded.
    }
  }

  /** Node ids alive at the last heartbeat (this node included). */
  liveNodes(): ReadonlySet<string> {
    return this.live.size > 0 ? this.live : new Set([this.nodeId]);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.redis.zrem(NODES_KEY, this.nodeId);
    } catch {
      /* best effort */
    }
  }
}
