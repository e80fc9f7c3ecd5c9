/**
 * The stream gateway (SPEC 5): `GET /api/v1/stream` upgraded to a WebSocket on every server it is
 * attached to (HTTP, and HTTPS when TLS is on). It admits upgrades (upgrade-auth.ts checks who), keeps one channel per
 * room with subscribers on this node, turns bus events into frames for the members of the room
 * only, pings sockets, and closes them with 1012 on shutdown. The protocol is in
 * src/shared/stream-protocol.ts; per-socket ordering, resume and budget in connection.ts.
 *
 * The gateway does not care where events come from: it subscribes to a Bus (src/server/events/),
 * in-process on one node and through Redis in the distributed mode.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../../shared/limits.js';
import { CLOSE_RESTART, CLOSE_SIGNED_OUT, STREAM_PATH } from '../../shared/stream-protocol.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { AuthService } from '../services/auth-service.js';
import type { DomainEvent } from '../services/context.js';
import type { Store } from '../store/types.js';
import type { Bus } from '../events/types.js';
import { Connection, type ConnectionHost } from './connection.js';
import { encodeFrame } from './frames.js';
import type { Logger } from './logger.js';
import type { PresenceTracker } from '../presence/types.js';
import { RoomChannel } from './room-channel.js';
import { authenticateUpgrade, pathOf, refuse } from './upgrade-auth.js';

export interface StreamGatewayOptions {
  config: Config;
  store: Store;
  bus: Bus;
  presence: PresenceTracker;
  auth: AuthService;
  logger: Logger;
  /** True while the node drains after SIGTERM: new upgrades get 503. */
  isDraining: () => boolean;
  /** Cookie header → cookies (the app's @fastify/cookie parser, so both read cookies alike). */
  parseCookie: (header: string) => Record<string, string | undefined>;
  /** Where to register the stream's metrics (the app's registry). */
  registry?: Registry;
  /** Per-socket budget of unsent bytes (default 1 MiB); past it the socket is closed with 4008. */
  maxBufferedBytes?: number;
  /** Messages per store read during a replay or gap fill (default 100). */
  replayPageSize?: number;
  /** How long after `ready` live messages wait for a silent client's first frame (default 0.5 s). */
  firstFrameWaitMs?: number;
  /** Heartbeat period (default 30 s); 0 disables the timer (tests call heartbeat() themselves). */
  heartbeatIntervalMs?: number;
  /** How long shutdown waits for closing handshakes before dropping sockets (default 2 s). */
  shutdownGraceMs?: number;
}

const KiB = 1024;

export class StreamGateway implements ConnectionHost {
  readonly store: Store;
  readonly presence: PresenceTracker;
  readonly logger: Logger;
  readonly limits: ConnectionHost['limits'];
  private readonly wss = new WebSocketServer({
    noServer: true,
    // Client frames are small (resume maps, open/close); anything bigger is a misbehaving client.
    maxPayload: 64 * KiB,
    // Compression is per socket: it would undo serializing each message once per room.
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly attached = new WeakSet<HttpServer | HttpsServer>();
  private readonly channels = new Map<string, RoomChannel>();
  private readonly connections = new Set<Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly unsubscribeBus: () => void;
  private readonly heartbeatTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private tooSlowCount = 0;
  private readonly metrics: { connections: Gauge | undefined; tooSlow: Counter | undefined };

  constructor(private readonly options: StreamGatewayOptions) {
    this.store = options.store;
    this.presence = options.presence;
    this.logger = options.logger;
    const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * KiB;
    this.limits = {
      maxBufferedBytes,
      replayPageSize: options.replayPageSize ?? 100,
      replayLowWaterBytes: Math.min(256 * KiB, Math.floor(maxBufferedBytes / 4)),
      firstFrameWaitMs: options.firstFrameWaitMs ?? 500,
    };
    this.unsubscribeBus = options.bus.subscribe((event) => this.onEvent(event));
    const interval = options.heartbeatIntervalMs ?? 30_000;
    if (interval > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), interval);
      this.heartbeatTimer.unref();
    }
    const registers = options.registry ? [options.registry] : [];
    this.metrics = {
      connections: options.registry
        ? new Gauge({ name: 'carillon_stream_connections', help: 'Open stream sockets on this node', registers })
        : undefined,
      tooSlow: options.registry
        ? new Counter({ name: 'carillon_stream_too_slow_total', help: 'Stream sockets closed with 4008 for falling too far behind', registers })
        : undefined,
    };
  }

  /** Handles stream upgrades on a server (the HTTP one in buildApp; main.ts adds the HTTPS one). */
  attach(server: HttpServer | HttpsServer): void {
    // Twice on one server would answer each upgrade twice.
    if (this.attached.has(server)) return;
    this.attached.add(server);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Before ws owns the socket, a reset by the client must not become an uncaught 'error'.
      socket.on('error', () => {});
      if (pathOf(req.url) !== STREAM_PATH) {
        // Another upgrade handler on this server may own the path; when there is none, answer.
        if (server.listenerCount('upgrade') <= 1) refuse(socket, new AppError('NotFound', 'Nothing to upgrade here; the stream is at /api/v1/stream.'));
        return;
      }
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.logger.error({ err }, 'stream: upgrade failed');
        refuse(socket, new AppError('InternalError', 'The stream could not be opened; reconnect in a moment.'));
      });
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing || this.options.isDraining()) {
      refuse(socket, new AppError('ServiceUnavailable', 'This server is shutting down; reconnect in a moment.', { retryAfterS: 1 }));
      return;
    }
    const authenticated = await authenticateUpgrade(req, this.options);
    if ('refusal' in authenticated) {
      refuse(socket, authenticated.refusal);
      return;
    }
    const { user, sessionId } = authenticated;
    if (socket.destroyed) return;
    if (this.closing) {
      refuse(socket, new AppError('ServiceUnavailable', 'This server is shutting down; reconnect in a moment.', { retryAfterS: 1 }));
      return;
    }
    // A runaway client (a reconnect loop that never closes its sockets) must not hold thousands of them.
    const open = this.byUser.get(user.id)?.size ?? 0;
    if (open >= LIMITS.streamsPerUser) {
      refuse(socket, new AppError('Throttled', `This user already has ${open} open streams on this server (the limit is ${LIMITS.streamsPerUser}); close some tabs or devices, then reconnect.`, { retryAfterS: 10 }));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.add(new Connection(ws, socket, user, this, sessionId)));
  }

  private add(conn: Connection): void {
    if (this.closing) {
      conn.shutdown(CLOSE_RESTART.code, CLOSE_RESTART.reason);
      return;
    }
    this.connections.add(conn);
    let mine = this.byUser.get(conn.user.id);
    if (!mine) {
      mine = new Set();
      this.byUser.set(conn.user.id, mine);
    }
    mine.add(conn);
    this.metrics.connections?.set(this.connections.size);
  }

  // ---- ConnectionHost ----

  acquire(roomId: string): RoomChannel {
    let channel = this.channels.get(roomId);
    if (!channel) {
      const created = new RoomChannel(roomId, this.store, this.logger, this.limits.replayPageSize);
      // A channel that could not start (database down) is forgotten, so the next subscriber retries.
      created.ready.catch(() => {
        if (this.channels.get(roomId) === created) this.channels.delete(roomId);
      });
      this.channels.set(roomId, created);
      channel = created;
    }
    channel.refs++;
    return channel;
  }

  /** Rooms with subscribers on this node, and the last seq delivered in each (the distributed mode's store poller). */
  activeRooms(): Map<string, number> {
    const rooms = new Map<string, number>();
    for (const [roomId, channel] of this.channels) if (channel.position >= 0) rooms.set(roomId, channel.position);
    return rooms;
  }

  release(channel: RoomChannel): void {
    channel.refs--;
    if (channel.refs <= 0 && this.channels.get(channel.roomId) === channel) {
      this.channels.delete(channel.roomId);
      channel.dispose();
    }
  }

  onTooSlow(conn: Connection): void {
    this.tooSlowCount++;
    this.metrics.tooSlow?.inc();
    this.logger.info({ userId: conn.user.id, bufferedBytes: conn.ws.bufferedAmount }, 'stream: client too slow; closing with 4008');
  }

  onClosed(conn: Connection): void {
    this.connections.delete(conn);
    const mine = this.byUser.get(conn.user.id);
    mine?.delete(conn);
    if (mine?.size === 0) this.byUser.delete(conn.user.id);
    this.metrics.connections?.set(this.connections.size);
  }

  // ---- events ----

  private onEvent(event: DomainEvent): void {
    switch (event.type) {
      case 'message.created':
        this.channels.get(event.message.roomId)?.onMessage(event.message);
        return;
      case 'message.changed':
        this.channels.get(event.event.message.roomId)?.onEvent(event.event);
        return;
      case 'presence.changed':
        this.channels.get(event.roomId)?.broadcast(encodeFrame({ type: 'presence.changed', roomId: event.roomId, userId: event.userId, present: event.present }));
        return;
      case 'member.added':
        for (const conn of this.connectionsOf(event.userId)) conn.roomAdded(event.roomId);
        this.rosterChanged(event.roomId);
        return;
      case 'member.removed':
        // First the removed user (so they get nothing more), then the members who remain.
        for (const conn of this.connectionsOf(event.userId)) conn.roomRemoved(event.roomId);
        this.rosterChanged(event.roomId);
        return;
      case 'member.role':
        for (const conn of this.connectionsOf(event.userId)) conn.roomChanged(event.roomId);
        this.rosterChanged(event.roomId);
        return;
      case 'webhooks.changed':
        this.rosterChanged(event.roomId);
        return;
      case 'read.changed':
        // Only this user's sockets: read state is per user, and the same on every device.
        for (const conn of this.connectionsOf(event.userId)) conn.readChanged(event.state);
        return;
      case 'member.settings':
        for (const conn of this.connectionsOf(event.userId)) conn.roomChanged(event.roomId);
        return;
      case 'webhook.failing': {
        // The room's administrators only, on sockets that follow the room (set up, still a member).
        const frame = encodeFrame(event.frame);
        for (const userId of event.adminUserIds) {
          for (const conn of this.connectionsOf(userId)) if (conn.subs.has(event.frame.roomId)) conn.send(frame);
        }
        return;
      }
      case 'session.ended':
        // Rare (a sign-out), so a scan of this node's sockets rather than one more index to keep.
        for (const conn of [...this.connections]) {
          if (conn.sessionId === event.sessionId) conn.shutdown(CLOSE_SIGNED_OUT.code, CLOSE_SIGNED_OUT.reason);
        }
        return;
    }
  }

  private rosterChanged(roomId: string): void {
    this.channels.get(roomId)?.broadcast(encodeFrame({ type: 'roster.changed', roomId }));
  }

  private connectionsOf(userId: string): Connection[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  // ---- heartbeat and shutdown ----

  /** One heartbeat: ping every socket and drop those that did not answer the previous ping. */
  heartbeat(): void {
    for (const conn of [...this.connections]) conn.tick();
  }

  /** Counts for tests and diagnostics. */
  stats(): { connections: number; channels: number; closedTooSlow: number } {
    return { connections: this.connections.size, channels: this.channels.size, closedTooSlow: this.tooSlowCount };
  }

  /**
   * Closes every socket with 1012 "server restarting; reconnect" (SPEC 9) and waits for the
   * closing handshakes (at most shutdownGraceMs, then drops the rest). New upgrades get 503.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      const conns = [...this.connections];
      for (const conn of conns) conn.shutdown(CLOSE_RESTART.code, CLOSE_RESTART.reason);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.shutdownGraceMs ?? 2000);
        timer.unref();
      });
      await Promise.race([Promise.all(conns.map((c) => c.socketClosed)), grace]);
      clearTimeout(timer);
      for (const conn of conns) conn.ws.terminate();
      this.unsubscribeBus();
      for (const channel of this.channels.values()) channel.dispose();
      this.channels.clear();
      this.wss.close();
    })();
    return this.closing;
  }
}
