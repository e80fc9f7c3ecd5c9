/**
 * The hooks every request goes through: a JSON 503 while the node drains, and the security headers.
 * (Hooks on every request take Fastify's callback form when they wait for nothing: no promise each.)
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** Sent on every answer (RELIABILITY S10), by this hook and by the webhook fast path (webhooks/fast-path.ts). */
export const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' } as const;

export function installRequestHooks(app: FastifyInstance, isDraining: () => boolean): void {
  // While draining after SIGTERM, new requests get a JSON 503 so clients retry elsewhere (SPEC 9).
  app.addHook('onRequest', (req, _reply, done) => {
    if (isDraining() && req.url !== '/healthz') {
      return done(new AppError('ServiceUnavailable', 'This server is shutting down; retry in a moment.', { retryAfterS: 1, headers: { connection: 'close' } }));
    }
    done();
  });

  // Security headers on everything (RELIABILITY S10): webhook URLs carry secrets, so never leak a referrer.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.headers(SECURITY_HEADERS);
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
