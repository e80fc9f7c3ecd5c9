/**
 * Presence per room (SPEC 1, as in Chime): a member is present in a room while at least one of
 * their connected clients has it open. The gateway reports opens and closes; services read who is
 * present (the roster's `present`, the @Present snapshot). Changes are published as
 * `presence.changed` events, which the gateway fans out to the room's members only.
 */
import type { EventSink, PresenceReader } from '../services/context.js';

export interface PresenceTracker extends PresenceReader {
  /** One more client connection of `userId` has the room open. */
  open(roomId: string, userId: string): void;
  /** One fewer (a close frame, a closed socket or the user's removal from the room). */
  close(roomId: string, userId: string): void;
}

/**
 * The embedded default: room → user → number of that user's connections with the room open, in
 * this process. A distributed implementation (issue 8) keeps the same counts in Redis.
 */
export class InProcessPresence implements PresenceTracker {
  private readonly rooms = new Map<string, Map<string, number>>();

  constructor(private readonly events: EventSink) {}

  open(roomId: string, userId: string): void {
    let users = this.rooms.get(roomId);
    if (!users) {
      users = new Map();
      this.rooms.set(roomId, users);
    }
    const n = users.get(userId) ?? 0;
    users.set(userId, n + 1);
    if (n === 0) this.events.publish({ type: 'presence.changed', roomId, userId, present: true });
  }

  close(roomId: string, userId: string): void {
    const users = this.rooms.get(roomId);
    const n = users?.get(userId) ?? 0;
    if (!users || n === 0) return;
    if (n > 1) {
      users.set(userId, n - 1);
      return;
    }
    users.delete(userId);
    if (users.size === 0) this.rooms.delete(roomId);
    this.events.publish({ type: 'presence.changed', roomId, userId, present: false });
  }

  async presentUserIds(roomId: string): Promise<ReadonlySet<string>> {
    return new Set(this.rooms.get(roomId)?.keys() ?? []);
  }
}
