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

/** This process's clients: room → user → number of that user's connections with the room open. */
export class ConnectionCounts {
  private readonly rooms = new Map<string, Map<string, number>>();

  /** One more connection; true when the user was not present through this process before. */
  increment(roomId: string, userId: string): boolean {
    let users = this.rooms.get(roomId);
    if (!users) this.rooms.set(roomId, (users = new Map()));
    const n = users.get(userId) ?? 0;
    users.set(userId, n + 1);
    return n === 0;
  }

  /** One fewer; true when that was the user's last connection with the room open here. */
  decrement(roomId: string, userId: string): boolean {
    const users = this.rooms.get(roomId);
    const n = users?.get(userId) ?? 0;
    if (!users || n === 0) return false;
    if (n > 1) {
      users.set(userId, n - 1);
      return false;
    }
    users.delete(userId);
    if (users.size === 0) this.rooms.delete(roomId);
    return true;
  }

  users(roomId: string): Set<string> {
    return new Set(this.rooms.get(roomId)?.keys() ?? []);
  }

  /** Every room with its present users. */
  entries(): IterableIterator<[string, Map<string, number>]> {
    return this.rooms.entries();
  }

  clear(): void {
    this.rooms.clear();
  }
}

/** The embedded default: presence counted in this process. A distributed implementation (issue 8) mirrors it into Redis. */
export class InProcessPresence implements PresenceTracker {
  private readonly counts = new ConnectionCounts();

  constructor(private readonly events: EventSink) {}

  open(roomId: string, userId: string): void {
    if (this.counts.increment(roomId, userId)) this.events.publish({ type: 'presence.changed', roomId, userId, present: true });
  }

  close(roomId: string, userId: string): void {
    if (this.counts.decrement(roomId, userId)) this.events.publish({ type: 'presence.changed', roomId, userId, present: false });
  }

  async presentUserIds(roomId: string): Promise<ReadonlySet<string>> {
    return this.counts.users(roomId);
  }
}
