/**
 * Unread and mention badges from the server's read state (issue 13), kept live between the
 * server's updates. Pure functions over a room's entry, so chat-store.ts stays the one owner of
 * state and these rules can be unit-tested.
 *
 * The server's counts (the room list, `room.read`, `room.changed`) cover messages up to their
 * `lastSeq`; `countedThrough` is the highest seq the entry's counts include. A live message past it
 * bumps the counts here; a server update replaces them and re-adds what this client already counted
 * past the server's `lastSeq`, so a frame that crosses a live message counts it once.
 */
import type { Message, ReadState, Room } from '../../shared/api-types';
import { alertsMe } from '../lib/format';
import type { RoomLog } from '../lib/room-log';

export interface ReadTracked {
  room: Room;
  log: RoomLog;
  /** Messages from others after the read position (the badge). */
  unread: number;
  /** Of those, the ones that alert me (SPEC 4). */
  alerts: number;
  /** The highest seq the counts include. */
  countedThrough: number;
}

const mine = (m: Message, me: string) => m.sender.type === 'user' && m.sender.id === me;

/** Applies the server's read state (a room object or a `room.read` frame). */
export function applyServerRead<T extends ReadTracked>(entry: T, state: ReadState, me: string, onScreen: boolean): T {
  const lastReadSeq = Math.max(entry.room.lastReadSeq, state.lastReadSeq);
  const room = lastReadSeq === entry.room.lastReadSeq ? entry.room : { ...entry.room, lastReadSeq };
  const countedThrough = Math.max(entry.countedThrough, state.lastSeq);
  if (onScreen) return { ...entry, room, unread: 0, alerts: 0, countedThrough };
  // Counts taken at an older read position than this client already marked (a reply to an
  // earlier mark, still in flight) would bring read messages back: keep ours.
  if (state.lastReadSeq < entry.room.lastReadSeq) return { ...entry, room, countedThrough };
  let unread = state.unreadCount;
  let alerts = state.mentionCount;
  const from = Math.max(state.lastSeq, lastReadSeq);
  for (const m of entry.log.messages) {
    if (m.seq <= from || m.seq > entry.countedThrough || mine(m, me)) continue;
    unread++;
    if (alertsMe(m, me)) alerts++;
  }
  return { ...entry, room, unread, alerts, countedThrough };
}

/** A server room object as read state. */
export const readStateOf = (room: Room): ReadState => ({
  roomId: room.id,
  lastReadSeq: room.lastReadSeq,
  unreadCount: room.unreadCount,
  mentionCount: room.mentionCount,
  lastSeq: room.lastSeq,
});

/**
 * Counts messages this client has just accepted (live, a gap fill or the latest page). Only those
 * past `countedThrough` are new to the counts; my own post marks everything up to it read (the
 * server does the same). Returns the new entry and the messages of others that are new here (to
 * notify about).
 */
export function countAccepted<T extends ReadTracked>(entry: T, accepted: readonly Message[], me: string, onScreen: boolean): { entry: T; fresh: Message[] } {
  let { unread, alerts, countedThrough } = entry;
  let lastReadSeq = entry.room.lastReadSeq;
  const fresh: Message[] = [];
  for (const m of accepted) {
    if (m.seq <= countedThrough) continue;
    countedThrough = m.seq;
    if (mine(m, me)) {
      lastReadSeq = Math.max(lastReadSeq, m.seq);
      unread = 0;
      alerts = 0;
      continue;
    }
    fresh.push(m);
    if (onScreen || m.seq <= lastReadSeq) continue;
    unread++;
    if (alertsMe(m, me)) alerts++;
  }
  if (countedThrough === entry.countedThrough) return { entry, fresh };
  const room = lastReadSeq === entry.room.lastReadSeq ? entry.room : { ...entry.room, lastReadSeq };
  return { entry: { ...entry, room, unread, alerts, countedThrough }, fresh };
}

/** The newest seq on screen in the room (what "read" moves to), or 0. */
export function newestShown(log: RoomLog): number {
  return log.messages[log.messages.length - 1]?.seq ?? 0;
}

/**
 * Where the "New messages" line goes: above the first message after `after` (the read position
 * when the room was opened) not sent by me; null when there is none.
 */
export function firstUnreadSeq(messages: readonly Message[], after: number | null, me: string): number | null {
  if (after === null) return null;
  return messages.find((m) => m.seq > after && !mine(m, me))?.seq ?? null;
}

/** The first message after `after` that alerts me (the "Jump to first unread mention" target). */
export function firstUnreadMention(messages: readonly Message[], after: number | null, me: string): Message | null {
  if (after === null) return null;
  return messages.find((m) => m.seq > after && !mine(m, me) && alertsMe(m, me)) ?? null;
}
