/**
 * The real-time stream (SPEC 5): `GET /api/v1/stream` upgraded to a WebSocket. Shared by the
 * server (src/server/realtime/gateway.ts) and the web client, which speak exactly these frames.
 *
 * Connecting
 * - Authenticate with `Authorization: Bearer <token>` (API clients) or the session cookie
 *   (browsers). A cookie upgrade must carry an `Origin` of this server (PUBLIC_URL's origin or the
 *   Host the browser addressed); a cross-site or missing Origin is refused with HTTP 403 before the
 *   upgrade (cross-site WebSocket hijacking). No credentials → HTTP 401. Tokens are never accepted
 *   in the URL (`?access_token=` is ignored), since URLs end up in logs.
 * - Every frame is one JSON text message. The first server frame is always `ready`.
 *
 * Ordering guarantee: per room, a client sees each message once, in `seq` order, with no gap —
 * across reconnects too, provided it resumes with the last seq it has.
 *
 * How a client should start: on `open`, send `resume` as its FIRST frame (`{"type":"resume",
 * "rooms":{}}` when it has nothing to resume). Until the server has read the client's first frame
 * it holds live messages back (they are kept, not dropped), so a resume can never race the live
 * stream of the same room. A client that says nothing gets its rooms' live messages anyway, half a
 * second after `ready`; a client that means to resume must therefore send `resume` right away.
 *
 * Close codes: 4008 "too slow; reconnect and resume" — the client fell more than the server's
 * per-socket budget (1 MiB) behind; reconnect and resume. 1012 "server restarting; reconnect" —
 * graceful shutdown; reconnect (to another node) and resume. 4001 "signed out" — the session the
 * socket was opened with ended (signed out, here or in another tab); do not reconnect: sign in again. A socket that does not answer the
 * server's WebSocket pings (every ~30 s) is dropped.
 */
import type { Message, MessageChange, ReadState, Room } from './api-types.js';

export const STREAM_PATH = '/api/v1/stream';

/** Close code and reason for a client that fell too far behind (an application code, 4000–4999). */
export const CLOSE_TOO_SLOW = { code: 4008, reason: 'too slow; reconnect and resume' } as const;
/** Close code and reason when the socket's session is signed out: the client signs in again instead of reconnecting. */
export const CLOSE_SIGNED_OUT = { code: 4001, reason: 'signed out; sign in again' } as const;
/** Close code and reason on graceful shutdown (RFC 6455 1012 "Service Restart"; SPEC 9). */
export const CLOSE_RESTART = { code: 1012, reason: 'server restarting; reconnect' } as const;

/** roomId → a seq (the last one the client has, or where live delivery starts). */
export type RoomSeqs = Record<string, number>;

// ---- server → client ----

/**
 * First frame. `rooms` lists every room the user is a member of, each with the seq live delivery
 * starts after: a room not named in a `resume` receives live messages with larger seqs (fetch
 * older history with GET /rooms/{id}/messages?before=…).
 */
export interface ReadyFrame {
  type: 'ready';
  userId: string;
  rooms: RoomSeqs;
}

/** A message of a room the user is a member of; `message.alert` says whether it alerts this user (SPEC 4). */
export interface MessageCreatedFrame {
  type: 'message.created';
  message: Message & { alert: boolean };
}

/**
 * A message changed after it was posted: edited by its author, updated by its webhook (a post with
 * the same key), deleted (a tombstone: empty content and html, `deletedAt` set) or its reactions
 * changed. `message` is its whole current state: replace the copy you have (by `message.id`); if
 * you do not have it (older than what you loaded), ignore it.
 *
 * Seq rules: every change takes the room's next seq, like a new message, and `seq` is that seq
 * (`message.seq` stays the message's own place in the room). Per room, the frames `message.created`
 * and `message.updated` together carry every seq once, in order, with no gap — live and through
 * `resume`. So "the last seq I have" is the largest seq of either frame. A replay sends a message
 * created after your seq once, as `message.created` in its current state (already edited, deleted
 * or reacted to), and a change of an older message as `message.updated`; a message changed several
 * times may come once per change, each time in its current state (apply them in order; they are
 * idempotent). Changes never add to unread counts.
 *
 * `newAlert` is true when this change makes the message alert you and it did not before (an update
 * that adds a mention of you, @All, or @Present while you are present): notify as for a new alert.
 */
export interface MessageUpdatedFrame {
  type: 'message.updated';
  seq: number;
  change: MessageChange;
  message: Message & { alert: boolean };
  newAlert: boolean;
}

/** A member opened (present) or closed (not present) the room in all of their clients (SPEC 1). */
export interface PresenceChangedFrame {
  type: 'presence.changed';
  roomId: string;
  userId: string;
  present: boolean;
}

/** The room's members, their roles or its webhooks changed: fetch GET /rooms/{id}/roster again. */
export interface RosterChangedFrame {
  type: 'roster.changed';
  roomId: string;
}

/**
 * The user was added to a room. `room.lastSeq` is where live delivery of that room starts; resume
 * from 0 (or fetch history) to get the older messages.
 */
export interface RoomAddedFrame {
  type: 'room.added';
  room: Room;
}

/**
 * The user's own view of a room changed (their role, or their notification settings `notify` /
 * `muted` changed on one of their devices): replace the room.
 */
export interface RoomChangedFrame {
  type: 'room.changed';
  room: Room;
}

/**
 * The user's read state in a room changed, on any of their devices (PUT /rooms/{id}/read, or
 * their own post, which marks the room read up to it): sent to every socket of that user, on every
 * node. `lastReadSeq` never moves backwards. `unreadCount` (messages after lastReadSeq not sent by
 * the user) and `mentionCount` (those that alert the user, SPEC 4) stop at 1000
 * (LIMITS.unreadCountCap; show "999+"). They cover messages up to `lastSeq`: a client adds the ones
 * with a larger seq that it receives itself, so a frame that crosses a live message counts it once.
 */
export interface RoomReadFrame extends ReadState {
  type: 'room.read';
}

/** The user was removed from (or left) the room: nothing more of it is sent. */
export interface RoomRemovedFrame {
  type: 'room.removed';
  roomId: string;
}

/** The replay asked for by `resume` is complete for this room; `lastSeq` is the last seq sent (of a message or a change). Live frames follow. */
export interface ResumedFrame {
  type: 'resumed';
  roomId: string;
  lastSeq: number;
}

/**
 * A webhook of the room is failing (issue 15): at least 20 of its answers were 4xx (400, 404 for a
 * regenerated URL's old token, 413, 429 …) within `windowMinutes`. Sent to the room's
 * administrators only, on every node, at most once per webhook per hour. `lastStatus` / `lastCode`
 * are the latest failure's; `at` is when the notice was made (epoch ms). The webhook's delivery log
 * (GET /rooms/{roomId}/webhooks/{webhookId}/deliveries) shows the attempts.
 */
export interface WebhookFailingFrame {
  type: 'webhook.failing';
  roomId: string;
  webhookId: string;
  webhookName: string;
  failures: number;
  windowMinutes: number;
  lastStatus: number;
  lastCode: string;
  at: number;
}

/** Answer to a client `ping`. */
export interface PongFrame {
  type: 'pong';
}

/** The client sent a frame the server could not use; the connection stays open. */
export interface ErrorFrame {
  type: 'error';
  Code: 'InvalidRequest' | 'NotFound';
  Message: string;
}

export type ServerFrame =
  | ReadyFrame
  | MessageCreatedFrame
  | MessageUpdatedFrame
  | PresenceChangedFrame
  | RosterChangedFrame
  | RoomAddedFrame
  | RoomChangedFrame
  | RoomReadFrame
  | RoomRemovedFrame
  | ResumedFrame
  | WebhookFailingFrame
  | PongFrame
  | ErrorFrame;

// ---- client → server ----

/**
 * For each named room the user is a member of, the server sends every message with a larger seq,
 * in order (read from the store in pages), then `resumed`, then live messages — no gap, no
 * duplicate, even while messages arrive during the replay. Rooms the user is not a member of are
 * ignored (rooms are not enumerable). Resuming a room again restarts its replay from the new seq.
 */
export interface ResumeFrame {
  type: 'resume';
  rooms: RoomSeqs;
}

/** This client now shows the room (the user becomes present in it). Not a member → error NotFound. */
export interface OpenFrame {
  type: 'open';
  roomId: string;
}

/** This client no longer shows the room. */
export interface CloseFrame {
  type: 'close';
  roomId: string;
}

/** Application-level ping; the server answers `pong` after every frame sent before it. */
export interface PingFrame {
  type: 'ping';
}

export type ClientFrame = ResumeFrame | OpenFrame | CloseFrame | PingFrame;
