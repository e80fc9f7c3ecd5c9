/**
 * `GET /api/v1/stream` over plain HTTP. The stream (SPEC 5) is a WebSocket, served by
 * realtime/gateway.ts on the upgrade; this route answers a plain GET with 426 and what to do, and
 * puts the stream in the OpenAPI document.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

export function registerStreamRoute(api: FastifyInstance): void {
  api.get('/stream', {
    schema: {
      tags: ['stream'],
      summary: 'Live stream of the user\'s rooms (WebSocket)',
      description:
        'Open as a WebSocket (Upgrade: websocket), signed in by Authorization: Bearer or by the session cookie from this server\'s own pages (Origin). ' +
        'Send {"type":"resume","rooms":{roomId: lastSeq}} first; then open, close and ping. The server sends ready, message.created (with alert), message.updated (an edit, deletion or reaction, at its own seq), ' +
        'resumed, presence.changed, roster.changed, room.added, room.removed, room.changed, room.read, webhook.failing (room administrators), pong and error frames (src/shared/stream-protocol.ts). ' +
        'Close codes: 4008 too slow (reconnect and resume), 1012 server restarting (reconnect), 4001 signed out (sign in again). A plain HTTP GET gets 426.',
      response: { 426: { $ref: 'Error#' } },
    },
  }, async () => {
    throw new AppError(
      'UpgradeRequired',
      'This is the live stream, a WebSocket: open it with a WebSocket client (Upgrade: websocket) and Authorization: Bearer <token>.',
      { headers: { upgrade: 'websocket', connection: 'Upgrade' } },
    );
  });
}
