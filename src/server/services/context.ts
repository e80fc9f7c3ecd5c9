/** What every service needs: the store, a clock, and the cross-node parts behind interfaces. */
import type { Store } from '../store/types.js';
import type { Config } from '../config.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Who is present in a room (SPEC 1). The presence trackers (presence/) provide the real one. */
export interface PresenceReader {
  /**
   * Who has the room open, on every node. When the other nodes' presence cannot be read (Redis
   * away), this node's own view is returned, unless `complete` is asked for: then it throws
   * PresenceUnavailableError (RELIABILITY D-6: @Present is refused rather than sent to a subset).
   */
  presentUserIds(roomId: string, options?: { complete?: boolean }): Promise<ReadonlySet<string>>;
}

/** The presence of other nodes cannot be read right now (see PresenceReader). */
export class PresenceUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('presence of the other nodes is unavailable', { cause });
    this.name = 'PresenceUnavailableError';
  }
}

export const nobodyPresent: PresenceReader = {
  presentUserIds: async () => new Set<string>(),
};

export interface ServiceContext {
  config: Config;
  store: Store;
  clock: Clock;
  presence: PresenceReader;
  events: EventSink;
}

/** What services announce after a commit; the realtime layer fans these out (SPEC 5). */
export type DomainEvent =
  | { type: 'message.created'; message: import('../store/types.js').MessageRecord }
  /** A message was edited, deleted or reacted to (issue 14); the change has its own seq in the room. */
  | { type: 'message.changed'; event: Extract<import('../store/types.js').RoomEvent, { kind: 'changed' }> }
  | { type: 'member.added'; roomId: string; userId: string }
  | { type: 'member.removed'; roomId: string; userId: string }
  | { type: 'member.role'; roomId: string; userId: string }
  | { type: 'webhooks.changed'; roomId: string }
  /** A session was signed out: streams opened with it close (its id is the stored hash, never the token). */
  | { type: 'session.ended'; sessionId: string }
  /** A member's read position or counts in a room changed (PUT …/read, their own post): every socket of theirs gets `room.read`. */
  | { type: 'read.changed'; userId: string; state: import('../../shared/api-types.js').ReadState }
  /** A member changed their own notification settings in a room: every socket of theirs gets `room.changed`. */
  | { type: 'member.settings'; roomId: string; userId: string }
  /**
   * A webhook is failing (issue 15, webhooks/delivery-log.ts): the frame goes to the sockets of
   * these users (the room's administrators when the notice was made), on every node.
   */
  | { type: 'webhook.failing'; adminUserIds: string[]; frame: import('../../shared/stream-protocol.js').WebhookFailingFrame }
  /** From the presence tracker (presence/types.ts), so every node's gateway can tell the room. */
  | { type: 'presence.changed'; roomId: string; userId: string; present: boolean };

export interface EventSink {
  publish(event: DomainEvent): void;
}

export const discardEvents: EventSink = { publish: () => {} };
