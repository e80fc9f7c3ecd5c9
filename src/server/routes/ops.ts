/** The operations routes (docs/operations.md): liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/types.js';

export interface OpsRoutesDeps {
  store: Store;
  metrics: Metrics;
  /** True while the node drains after SIGTERM: not ready. */
  isDraining: () => boolean;
}

export function registerOpsRoutes(app: FastifyInstance, { store, metrics, isDraining }: OpsRoutesDeps): void {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: storage reachable and not draining' } }, async () => {
    if (isDraining()) throw new AppError('ServiceUnavailable', 'This node is shutting down; retry on another node.', { retryAfterS: 1 });
    if (!(await store.ping())) throw new AppError('ServiceUnavailable', 'The database is unreachable; retry after the time in Retry-After.', { retryAfterS: 5 });
    return { status: 'ready' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
