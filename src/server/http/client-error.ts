/**
 * Answers requests that Node's HTTP parser refuses before any route sees them (malformed requests,
 * Content-Length together with Transfer-Encoding, headers or URL over 16 KiB, header and request
 * timeouts) with the same JSON `{Code, Message}` body as every other error: AWS's own Chime client
 * libraries JSON.parse every response body and crash on anything else (test/fixtures/chime-clients
 * README, rule 3). Installed as Fastify's clientErrorHandler and on the HTTPS server of main.ts.
 *
 * Never logs the raw packet Node attaches to the error: it holds the request line, token included.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from '../../shared/error-codes.js';
import { httpStatusOf } from './error-handler.js';

interface ClientErrorLog {
  debug(obj: object, msg: string): void;
}

function answerFor(code: string | undefined): ErrorBody {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { Code: 'RequestTimeout', Message: 'The request took too long to arrive (headers within 10 s, the whole request within 30 s); send it again in one go.' };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { Code: 'HeadersTooLarge', Message: 'The request line and headers are over 16 KiB; shorten the URL (a webhook URL is about 150 characters) or the headers.' };
  }
  return {
    Code: 'InvalidRequest',
    Message: 'The HTTP request is malformed (for example both Content-Length and Transfer-Encoding, or a body longer than its Content-Length); send one well-formed HTTP/1.1 request.',
  };
}

export function handleClientError(err: Error & { code?: string }, socket: Duplex, log: ClientErrorLog): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  log.debug({ code: err.code, reason: err.message.slice(0, 200) }, 'client error');
  // As Node does: answer only if no response is in flight on this socket, or its head is unsent.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = answerFor(err.code);
    const status = httpStatusOf(body.Code);
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy();
}
