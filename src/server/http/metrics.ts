/** Prometheus metrics (prom-client), one registry per app so tests can build several apps. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  webhookPosts: Counter<'code'>;
  /** webhookPosts.inc for one outcome code, with the labelled series looked up once per code (bounded: ErrorCodes and statuses). */
  countWebhookPost(code: string): void;
  /** carillon_http_requests_total and _duration_seconds for a request answered outside Fastify (the webhook fast path). */
  recordRequest(method: string, route: string, status: number, seconds: number): void;
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
  const recordRequest = (method: string, route: string, statusCode: number, seconds: number) => {
    const status = String(statusCode);
    const key = `${method} ${status} ${route}`;
    let s = series.get(key);
    if (!s) {
      const counter = requests.labels(method, route, status);
      const histogram = duration.labels(method, route);
      s = { count: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      series.set(key, s);
    }
    s.count();
    s.observe(seconds);
  };
  app.addHook('onResponse', (req, reply, done) => {
    // The route pattern, never the raw URL: bounded label values and no token in metrics.
    recordRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const postSeries = new Map<string, () => void>();
  const countWebhookPost = (code: string) => {
    let inc = postSeries.get(code);
    if (!inc) {
      const child = webhookPosts.labels(code);
      inc = () => child.inc();
      postSeries.set(code, inc);
    }
    inc();
  };
  return { registry, webhookPosts, recordRequest, countWebhookPost };
}
