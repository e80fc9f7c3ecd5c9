/**
 * Redis connections for the distributed mode (SPEC 9). Redis holds only what may be lost
 * (rate-limit buckets, presence, fan-out); commands fail fast while it is away so every caller
 * can fall back at once instead of queueing behind a dead connection (RELIABILITY D-6, F9).
 */
import { Redis } from 'ioredis';

export interface RedisLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export function createRedis(url: string, logger: RedisLogger, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: `carillon-${name}`,
    // Fail fast while disconnected: callers fall back instead of waiting.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    // Keep trying to come back, at most every 2 s.
    retryStrategy: (times) => Math.min(200 * times, 2000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down) logger.warn({ err: { message: err.message }, connection: name }, 'Redis unavailable: falling back until it returns');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'Redis is back');
    down = false;
  });
  return redis;
}

/** Resolves when the connection is ready, or after `ms` (the caller then runs degraded). */
export function whenReady(redis: Redis, ms = 3000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

export const KEY_PREFIX = 'carillon:';
