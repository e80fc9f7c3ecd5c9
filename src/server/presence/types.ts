/**
 * Presence per room (SPEC 1, as in Chime): a member is present in a room while at least one of
 * their connected clients has it open. The gateway reports opens and closes; services read who is
 * present (the roster's `present`, the @Present snapshot). Changes are published as
 * `presence.changed` events, which the gateway fans out to the room's members only.
 *
 * Two implementations: InProcessPresence (in-process.ts) for one node, RedisPresence (redis.ts)
 * for several, which keeps only the entries of nodes the NodeRegistry (node-registry.ts) sees
 * alive. contract.test.ts runs the same cases on each.
 */
import type { PresenceReader } from '../services/context.js';

export interface PresenceTracker extends PresenceReader {
  /** One more client connection of `userId` has the room open. */
  open(roomId: string, userId: string): void;
  /** One fewer (a close frame, a closed socket or the user's removal from the room). */
  close(roomId: string, userId: string): void;
}
