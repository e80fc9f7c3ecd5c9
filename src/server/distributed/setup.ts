/**
 * The distributed mode (SPEC 9): with REDIS_URL, the rate limiter, presence and fan-out move to
 * Redis so any number of identical nodes behave as one. This file only wires up the Redis
 * implementations (rate-limit/redis.ts, presence/redis.ts with presence/node-registry.ts,
 * events/redis.ts with events/store-poller.ts). Everything degrades rather than fails while
 * Redis is away (RELIABILITY D-6): per-node rate/N, local presence, store polling.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { RedisBus } from '../events/redis.js';
import { StorePoller } from '../events/store-poller.js';
import { NodeRegistry } from '../presence/node-registry.js';
import { RedisPresence } from '../presence/redis.js';
import { RedisRateLimiter } from '../rate-limit/redis.js';
import { type Clock, systemClock } from '../services/context.js';
import type { Store } from '../store/types.js';
import { createRedis, whenReady } from './redis-client.js';

export interface Distributed {
  nodeId: string;
  bus: RedisBus;
  presence: RedisPresence;
  rateLimiter: RedisRateLimiter;
  /** Starts what needs the built app (the poller reads the gateway's rooms). */
  attach(app: FastifyInstance): void;
  close(): Promise<void>;
}

/**
 * `clock` is the application's (the rate limiter's degraded fallback reads it). Heartbeats and
 * poll periods use the system clock: they are compared with other nodes' and with real timers,
 * so a test that freezes the application's clock does not freeze them.
 */
export async function startDistributed(config: Config, store: Store, logger: Logger, clock: Clock): Promise<Distributed> {
  const url = config.redisUrl!;
  const nodeId = randomUUID();
  const commands = createRedis(url, logger, 'commands');
  const pub = createRedis(url, logger, 'publish');
  const sub = createRedis(url, logger, 'subscribe');
  // Start even if Redis is down (degraded); it is used as soon as it answers.
  if (!(await whenReady(commands))) logger.warn('Redis did not answer at start: running degraded until it does');
  const registry = new NodeRegistry(commands, nodeId, systemClock);
  await registry.start();
  const bus = new RedisBus(pub, sub, nodeId, (err, event) => logger.error({ err, event: event.type }, 'an event subscriber failed'));
  const presence = new RedisPresence(commands, registry, bus);
  const rateLimiter = new RedisRateLimiter({
    redis: commands,
    clock,
    ratePerSecond: config.webhookRatePerSecond,
    burst: config.webhookBurst,
    nodeCount: () => registry.lastKnownNodeCount,
  });
  let poller: StorePoller | undefined;
  logger.info({ nodeId }, 'distributed mode: rate limits, presence and fan-out through Redis');
  return {
    nodeId,
    bus,
    presence,
    rateLimiter,
    attach(app) {
      poller = new StorePoller({ store, bus, clock: systemClock, activeRooms: () => app.carillon.stream.activeRooms() });
      poller.start();
    },
    async close() {
      poller?.stop();
      await presence.clear();
      await registry.stop();
      for (const c of [commands, pub, sub]) c.disconnect();
    },
  };
}
