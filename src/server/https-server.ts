/**
 * Built-in HTTPS (SPEC 2.1, 9): with TLS_CERT_FILE and TLS_KEY_FILE, the same Fastify app is also
 * served over TLS on HTTPS_PORT. Several real Chime clients accept only https:// URLs (AWS's GitHub
 * Action, its Node library and aws-delivlib refuse http:// before sending anything; see
 * test/fixtures/chime-clients/client-reactions.json, httpUrlWithHttpsOnlyClient).
 */
import { readFileSync } from 'node:fs';
import { type Server as HttpsServer, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { API_BODY_LIMIT, HTTP_TIMEOUTS } from './app.js';
import { handleClientError } from './http/client-error.js';
import { installExpectContinue } from './http/expect-continue.js';

export interface HttpsListener {
  server: HttpsServer;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to graceMs), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function startHttpsServer(app: FastifyInstance, config: Config): Promise<HttpsListener> {
  if (!config.tlsCertFile || !config.tlsKeyFile) throw new Error('TLS_CERT_FILE and TLS_KEY_FILE are required for HTTPS');
  const cert = readFileSync(config.tlsCertFile);
  const key = readFileSync(config.tlsKeyFile);
  // Every request goes through the app's own listener (the webhook fast path, then Fastify's routing):
  // same hooks, logs, limits and error handling.
  // The same slow-client limits as the plain HTTP server, given at creation (see HTTP_TIMEOUTS in app.ts).
  const server = createServer({ cert, key, ...HTTP_TIMEOUTS }, app.carillon.requestListener);
  server.keepAliveTimeout = app.server.keepAliveTimeout;
  server.on('clientError', (err: Error & { code?: string }, socket) => handleClientError(err, socket, app.log));
  installExpectContinue(server, API_BODY_LIMIT);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpsPort, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
