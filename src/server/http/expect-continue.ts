/**
 * `Expect: 100-continue`: Node answers "100 Continue" by itself unless the server listens for
 * 'checkContinue'. A client announcing a body larger than the route can take should get the 413
 * straight away and never be invited to send that body (RFC 9110 §10.1.1), so the interim answer
 * is withheld when the announced Content-Length is over the limit.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { LIMITS } from '../../shared/limits.js';

/** The largest body each part of the server reads: webhook URLs 64 KiB (SPEC 2.3), the rest `otherLimit`. */
export function bodyLimitFor(url: string | undefined, otherLimit: number): number {
  return url !== undefined && /^\/incomingwebhooks(?:[/?]|$)/.test(url) ? LIMITS.webhookBodyMaxBytes : otherLimit;
}

export function installExpectContinue(server: HttpServer | HttpsServer, otherLimit: number): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers['content-length']);
    if (!(length > bodyLimitFor(req.url, otherLimit))) res.writeContinue();
    server.emit('request', req, res);
  });
}
