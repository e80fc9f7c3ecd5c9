/**
 * Read state and notification settings, per member and room (issue 13). The store keeps each
 * member's last-read seq; the unread and mention counts are computed from it when the room list is
 * read or the read position changes — never on the append path, which webhooks make hot
 * (BENCHMARKS.md) — and they are bounded: at most UNREAD_COUNT_CAP messages are looked at per room.
 */
import { NOTIFY_LEVELS, type NotifyLevel, type ReadState } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import type { RoomWithRole, Store, UnreadRange, UnreadTally, UserRecord } from '../store/types.js';
import { requireMember, roomNotFound } from './access.js';
import { alertsUser } from './alerts.js';
import type { ServiceContext } from './context.js';

/** A room as one member sees it, with their counts. */
export interface RoomView extends RoomWithRole {
  unreadCount: number;
  mentionCount: number;
}

export interface MemberSettings {
  notify?: NotifyLevel;
  muted?: boolean;
}

interface ReadPosition {
  id: string;
  lastSeq: number;
  lastReadSeq: number;
}

const UNREAD_COUNT_CAP = LIMITS.unreadCountCap;

/** The newest UNREAD_COUNT_CAP messages after the read position, at most. */
function rangeOf(r: ReadPosition): UnreadRange {
  return { roomId: r.id, after: Math.max(r.lastReadSeq, r.lastSeq - UNREAD_COUNT_CAP), through: r.lastSeq };
}

function countsOf(r: ReadPosition, tally: UnreadTally | undefined, userId: string): { unreadCount: number; mentionCount: number } {
  if (r.lastSeq <= r.lastReadSeq || !tally) return { unreadCount: 0, mentionCount: 0 };
  // More than the cap behind: the count stops at the cap (the client shows "999+"). The member's
  // own posts cannot be among them, since posting marks the room read up to the post.
  const unreadCount = r.lastSeq - r.lastReadSeq > UNREAD_COUNT_CAP ? UNREAD_COUNT_CAP : tally.unread;
  let mentionCount = 0;
  for (const c of tally.alertCandidates) {
    if (alertsUser(c, userId, new Set(c.presentAtPost ?? []))) mentionCount++;
  }
  return { unreadCount, mentionCount: Math.min(mentionCount, UNREAD_COUNT_CAP) };
}

/** Adds the member's unread and mention counts to their rooms (two queries, whatever the number of rooms). */
export async function withReadCounts(store: Store, userId: string, rooms: readonly RoomWithRole[]): Promise<RoomView[]> {
  const behind = rooms.filter((r) => r.lastSeq > r.lastReadSeq);
  const tallies = behind.length > 0 ? await store.tallyUnread(userId, behind.map(rangeOf)) : new Map<string, UnreadTally>();
  return rooms.map((r) => ({ ...r, ...countsOf(r, tallies.get(r.id), userId) }));
}

/** One room as the member sees it, or null if they are not a member. */
export async function roomViewFor(store: Store, userId: string, roomId: string): Promise<RoomView | null> {
  const room = await store.getMembership(roomId, userId);
  return room ? (await withReadCounts(store, userId, [room]))[0]! : null;
}

/** The read state right after the member posted `seq`: everything up to their post is read. */
export function readAfterOwnPost(roomId: string, seq: number): ReadState {
  return { roomId, lastReadSeq: seq, unreadCount: 0, mentionCount: 0, lastSeq: seq };
}

export class ReadStateService {
  constructor(private readonly ctx: ServiceContext) {}

  /**
   * Marks the room read up to `seq` for the caller (clamped to the room's last seq). Reading never
   * moves backwards: a lower seq (a stale device) changes nothing and answers the current state.
   * Every socket of the caller, on every node, gets the new state as `room.read`.
   */
  async markRead(actor: UserRecord, roomId: string, seq: number): Promise<ReadState> {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new AppError('InvalidRequest', 'seq must be a whole number ≥ 0: the seq of the newest message you have read.');
    }
    await requireMember(this.ctx.store, actor, roomId);
    const mark = await this.ctx.store.markRead(roomId, actor.id, seq);
    if (!mark) throw roomNotFound();
    const position = { id: roomId, lastSeq: mark.lastSeq, lastReadSeq: mark.lastReadSeq };
    const tallies = mark.lastSeq > mark.lastReadSeq ? await this.ctx.store.tallyUnread(actor.id, [rangeOf(position)]) : undefined;
    const state: ReadState = { roomId, lastReadSeq: mark.lastReadSeq, ...countsOf(position, tallies?.get(roomId), actor.id), lastSeq: mark.lastSeq };
    if (mark.changed) this.ctx.events.publish({ type: 'read.changed', userId: actor.id, state });
    return state;
  }

  /** Changes the caller's own notification settings in a room; their other sockets get `room.changed`. */
  async setSettings(actor: UserRecord, roomId: string, settings: MemberSettings): Promise<RoomView> {
    const { notify, muted } = settings;
    if (notify !== undefined && !NOTIFY_LEVELS.includes(notify)) {
      throw new AppError('InvalidRequest', `notify must be one of: ${NOTIFY_LEVELS.join(', ')} (every message, mentions and alerts, or nothing).`);
    }
    if (muted !== undefined && typeof muted !== 'boolean') throw new AppError('InvalidRequest', 'muted must be true or false.');
    if (notify === undefined && muted === undefined) {
      throw new AppError('InvalidRequest', 'Give notify (all, mentions or none), muted (true or false), or both.');
    }
    await requireMember(this.ctx.store, actor, roomId);
    const ok = await this.ctx.store.setMemberSettings(roomId, actor.id, { ...(notify !== undefined ? { notify } : {}), ...(muted !== undefined ? { muted } : {}) });
    if (!ok) throw roomNotFound();
    this.ctx.events.publish({ type: 'member.settings', roomId, userId: actor.id });
    const room = await roomViewFor(this.ctx.store, actor.id, roomId);
    if (!room) throw roomNotFound();
    return room;
  }
}
