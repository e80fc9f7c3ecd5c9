/** Prometheus metrics (prom-client), one registry per app so tests can build several apps. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  webhookPosts: Counter<'code'>;
}

export function installMetrics(app: FastifyInstance): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'carillon_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'carillon_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const webhookPosts = new Counter({
    name: 'carillon_webhook_posts_total',
    help: 'Webhook posts by outcome code (OK or an error Code)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  // The labelled series, looked up once per method, route and status rather than hashed per request
  // (the label values are bounded: route patterns, never raw URLs).
  const series = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  app.addHook('onResponse', (req, reply, done) => {
    // The route pattern, never the raw URL: bounded label values and no token in metrics.
    const route = req.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    const key = `${req.method} ${status} ${route}`;
    let s = series.get(key);
    if (!s) {
      const counter = requests.labels(req.method, route, status);
      const histogram = duration.labels(req.method, route);
      s = { count: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      series.set(key, s);
    }
    s.count();
    s.observe(reply.elapsedTime / 1000);
    done();
  });
  return { registry, webhookPosts };
}
