/**
 * The Store: everything Carillon keeps durably, in domain terms. One Kysely implementation
 * serves SQLite and PostgreSQL (kysely-store.ts); store errors know nothing of HTTP.
 */
import type { Mentions, MessageChange, MessageEdit, MessageSender, NotifyLevel, Reaction, RoomRole } from '../../shared/api-types.js';
import type { PushStore } from './push-store.js';
import type { WebhookOpsStore } from './webhook-ops-store.js';

export interface UserRecord {
  id: string;
  email: string;
  alias: string;
  displayName: string;
  passwordHash: string;
  isSystemAdmin: boolean;
  createdAt: number;
}

export interface RoomRecord {
  id: string;
  name: string;
  createdBy: string;
  createdAt: number;
  lastSeq: number;
}

/** A member's own settings and read position in a room (migration 0003). */
export interface MemberState {
  /** Which messages notify this member: 'all', 'mentions' (mentions and alerts; default) or 'none'. */
  notify: NotifyLevel;
  /** Muted: no notifications of any kind (alerts still count as mentions in the room list). */
  muted: boolean;
  /** The highest seq this member has read; never moves backwards. */
  lastReadSeq: number;
}

export interface RoomWithRole extends RoomRecord, MemberState {
  role: RoomRole;
}

export interface MemberRecord extends MemberState {
  user: UserRecord;
  role: RoomRole;
  joinedAt: number;
}

export interface MessageRecord {
  id: string;
  roomId: string;
  seq: number;
  sender: MessageSender;
  content: string;
  html: string;
  mentions: Mentions;
  createdAt: number;
  /**
   * For @Present messages: who was present in the room when it was posted (SPEC 4), kept with the
   * message so a replay alerts exactly whom the live delivery did. Internal: never presented.
   */
  presentAtPost?: string[];
  /** When the content last changed (an edit or a keyed webhook update); null if never. */
  editedAt: number | null;
  /** Tombstone: when it was deleted (content and html are then empty); null if not. */
  deletedAt: number | null;
  deletedBy?: 'author' | 'administrator';
  reactions: Reaction[];
}

/** A message before the store gives it its seq (a new message has no edits, deletion or reactions). */
export type MessageDraft = Omit<MessageRecord, 'seq' | 'editedAt' | 'deletedAt' | 'deletedBy' | 'reactions'>;

/**
 * One seq of a room's event sequence (the stream's unit): a message posted at that seq, or a
 * change of an earlier message that took that seq. Both carry the message's current state.
 */
export type RoomEvent =
  | { kind: 'created'; seq: number; message: MessageRecord }
  | {
      kind: 'changed';
      seq: number;
      change: MessageChange;
      message: MessageRecord;
      /** The mentions this change added (who it may newly alert; services/alerts.ts decides), if any. */
      addedMentions?: MessageMentionsAdded;
    };

/** What an update added to a message's mentions, with the @Present snapshot taken at the update. */
export interface MessageMentionsAdded {
  mentions: Mentions;
  presentAtPost?: string[];
  /** The mentions of the version it replaced (and its @Present snapshot): whom the message alerted already. */
  before: { mentions: Mentions; presentAtPost?: string[] };
}

/** A new content for a stored message (an edit by its author, or a webhook update by key). */
export interface ContentChange {
  content: string;
  html: string;
  mentions: Mentions;
  /** The @Present snapshot when the new content uses @Present. */
  presentAtPost?: string[];
  at: number;
}

/** The outcome of a change: the event it recorded (with its seq), and the message before it. */
export interface ChangeOutcome {
  event: Extract<RoomEvent, { kind: 'changed' }>;
  previous: MessageRecord;
}

/** A webhook post with a key: the message it created, or the earlier one (same webhook, same key) it updated. */
export type KeyedPostOutcome =
  | { kind: 'created'; message: MessageRecord }
  | ({ kind: 'updated' } & ChangeOutcome)
  /** The keyed message already says exactly this: nothing was stored. */
  | { kind: 'unchanged'; message: MessageRecord };

export interface WebhookRecord {
  id: string;
  roomId: string;
  name: string;
  generation: number;
  createdBy: string;
  createdAt: number;
  deletedAt: number | null;
  /** Its own settings (issue 15); absent when created = the defaults. The store always reads them back. */
  settings?: WebhookSettingsRecord;
  /** Until when (epoch ms) the URL of generation - 1 still works (a regenerate with overlap); null: it does not. */
  previousValidUntil?: number | null;
}

/** A webhook's own settings as stored (issue 15): null rate or burst means the server's default. */
export interface WebhookSettingsRecord {
  ratePerSecond: number | null;
  burst: number | null;
  allowBroadcastMentions: boolean;
}

/**
 * Idempotency-Key of a webhook post (issue 15): stored with the message in its transaction,
 * unique per (webhook, key). A row created at or before `expiredAt` counts as absent.
 */
export interface IdempotencyOptions {
  key: string;
  expiredAt: number;
}

/** The post already stored under an Idempotency-Key (issue 15). */
export interface IdempotentPost {
  messageId: string;
  roomId: string;
}

/**
 * A post's Idempotency-Key was taken, by an earlier post or by one that committed while this one
 * waited for it: nothing was stored, and the answer is that post's.
 */
export class IdempotentRepeatError extends Error {
  constructor(readonly post: IdempotentPost) {
    super('idempotency key already used');
    this.name = 'IdempotentRepeatError';
  }
}

export interface SessionRecord {
  tokenHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export interface MessagePage {
  /** Messages with seq > after, oldest first. */
  after?: number;
  /** Messages with seq < before, oldest first (the newest `limit` of them). */
  before?: number;
  limit: number;
}

export interface AppendOptions {
  /**
   * When set, the append is refused (StoreGuardError 'too_many_members') if the room has more
   * members than this, counted inside the storing transaction (Chime's @All/@Present rule).
   */
  maxMembers?: number;
  /**
   * When set, the append is refused (StoreGuardError 'webhook_gone') unless this webhook is live at
   * this generation, or at the next one while the previous URL's overlap lasts (previous_valid_until
   * after the draft's createdAt; issue 15).
   */
  webhook?: { id: string; generation: number };
  /**
   * Idempotency-Key (issue 15): the append runs in its own transaction (never a group commit) that
   * records the key; a key taken already (also by a concurrent post, which it waits for) stores
   * nothing and throws IdempotentRepeatError with that post. Needs `webhook`.
   */
  idempotency?: IdempotencyOptions;
  /**
   * A member's post: this user's last-read seq is raised to the new message's seq in the same
   * transaction (posting marks the room read for its author). Never set for webhook posts.
   */
  markReadBy?: string;
}

/** The unread messages of one room to count for a member: seq in (after, through]. */
export interface UnreadRange {
  roomId: string;
  after: number;
  through: number;
}

/** A message that may alert the member (it names @All, @Present or them); the service decides (services/alerts.ts). */
export interface AlertCandidate {
  roomId: string;
  seq: number;
  sender: MessageSender;
  mentions: Mentions;
  presentAtPost?: string[];
}

export interface UnreadTally {
  /** Messages in the range not sent by the member. */
  unread: number;
  alertCandidates: AlertCandidate[];
}

/** A member's read position after markRead. */
export interface ReadMark {
  lastReadSeq: number;
  /** The room's last seq when it was read. */
  lastSeq: number;
  /** False when the mark was at or past the asked seq already (reading never moves backwards). */
  changed: boolean;
}

/** A unique constraint was hit; `field` names what collided (e.g. 'email', 'alias', 'member', 'name'). */
export class StoreConflictError extends Error {
  constructor(readonly field: string, cause?: unknown) {
    super(`conflict on ${field}`, { cause });
    this.name = 'StoreConflictError';
  }
}

/** The database cannot be reached, is busy past its timeout, or out of space. */
export class StoreUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A guarded write was refused by the condition checked inside its transaction. */
export class StoreGuardError extends Error {
  constructor(readonly reason: 'too_many_members' | 'webhook_limit' | 'webhook_gone' | 'not_found' | 'reaction_limit', readonly detail: number = 0) {
    super(`guard failed: ${reason}`);
    this.name = 'StoreGuardError';
  }
}

/**
 * One term of a search (issue 14): its words in order, to be found next to one another (a phrase
 * when there are several), the last one as a prefix when `prefix`. Words are as the query parser
 * split them (search-text.ts), not yet lower-cased: each database folds them as it folds content.
 */
export interface SearchTerm {
  words: string[];
  prefix: boolean;
}

/** A full-text search, newest first (created_at desc, then id desc). */
export interface SearchQuery {
  /** Only messages of rooms this user is a member of, enforced by the query itself. */
  userId: string;
  /** Every term must match (AND); at least one. */
  terms: SearchTerm[];
  roomId?: string;
  /** Messages a member posted (sender type 'user'). */
  senderUserId?: string;
  /** Messages a webhook posted. */
  webhookId?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, inclusive. */
  until?: number;
  /** Only messages after this one in the order (the last hit of the previous page). */
  after?: { createdAt: number; id: string };
  limit: number;
}

export interface SearchHit {
  message: MessageRecord;
  roomName: string;
  /**
   * Plain text around the matches, with each match between SNIPPET_START and SNIPPET_END
   * (search-text.ts); the content's own U+E000/U+E001 are spaces here. Not HTML: escape it.
   */
  snippet: string;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Web Push subscriptions, cursors and outbox (push-store.ts). */
  readonly push: PushStore;
  /** Webhook delivery logs, failure notices and the audit trail (issue 15; webhook-ops-store.ts). */
  readonly webhookOps: WebhookOpsStore;

  // users and sessions
  countUsers(): Promise<number>;
  /** Creates the first user only if the instance was never set up; returns null if it was. */
  createFirstUser(user: UserRecord): Promise<UserRecord | null>;
  createUser(user: UserRecord): Promise<UserRecord>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByEmail(email: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  createSession(session: SessionRecord): Promise<void>;
  /** The user of a live (unexpired) session. */
  getSessionUser(tokenHash: string, now: number): Promise<UserRecord | null>;
  deleteSession(tokenHash: string): Promise<void>;

  // rooms and members
  /** Creates the room and makes its creator an administrator, in one transaction. */
  createRoom(room: RoomRecord, now: number): Promise<RoomRecord>;
  getRoom(id: string): Promise<RoomRecord | null>;
  findRoomsByName(name: string): Promise<RoomRecord[]>;
  listRoomsForUser(userId: string): Promise<RoomWithRole[]>;
  getMemberRole(roomId: string, userId: string): Promise<RoomRole | null>;
  listMembers(roomId: string): Promise<MemberRecord[]>;
  countMembers(roomId: string): Promise<number>;
  addMember(roomId: string, userId: string, role: RoomRole, now: number): Promise<void>;
  /** Changes a role; refuses (StoreGuardError 'not_found') if not a member. Never demotes the last administrator (returns false). */
  setMemberRole(roomId: string, userId: string, role: RoomRole): Promise<boolean>;
  /** Removes a member; false if that would leave the room without an administrator. */
  removeMember(roomId: string, userId: string): Promise<boolean>;

  // read state and notification settings (per member)
  /** The room as this member sees it (role, read state, settings); null if not a member. */
  getMembership(roomId: string, userId: string): Promise<RoomWithRole | null>;
  /**
   * Raises the member's last-read seq to min(seq, the room's last seq); never lowers it.
   * null if not a member.
   */
  markRead(roomId: string, userId: string, seq: number): Promise<ReadMark | null>;
  /** Changes the member's own notification settings; false if not a member. */
  setMemberSettings(roomId: string, userId: string, settings: Partial<Pick<MemberState, 'notify' | 'muted'>>): Promise<boolean>;
  /**
   * For each range: how many of its messages others sent, and those that may alert `userId`.
   * Index-backed ((room_id, seq)); callers bound each range (at most LIMITS.unreadCountCap messages).
   * Rooms with nothing to count are absent from the result.
   */
  tallyUnread(userId: string, ranges: readonly UnreadRange[]): Promise<Map<string, UnreadTally>>;

  // messages
  /** Stores a message with the room's next seq, in one transaction. */
  appendMessage(draft: MessageDraft, options?: AppendOptions): Promise<MessageRecord>;
  listMessages(roomId: string, page: MessagePage): Promise<MessageRecord[]>;
  getMessage(id: string): Promise<MessageRecord | null>;
  /**
   * The room's events with seq > after, in seq order, at most `limit`: every seq in that range
   * is either a message or a change (gap-free). What resume and the live stream's gap fill read.
   */
  listRoomEvents(roomId: string, after: number, limit: number): Promise<RoomEvent[]>;
  /**
   * Replaces a live message's content (keeping the old version in its history) and records the
   * change as the room's next seq, in one transaction. StoreGuardError 'not_found' when the
   * message does not exist in that room or is deleted; null when the content is the same (nothing stored).
   */
  editMessage(roomId: string, messageId: string, change: ContentChange): Promise<ChangeOutcome | null>;
  /**
   * Turns a message into a tombstone (content, html, history and reactions removed) and records
   * the change. null when it is already deleted (nothing changes); 'not_found' when there is no
   * such message in the room.
   */
  deleteMessage(roomId: string, messageId: string, by: 'author' | 'administrator', at: number): Promise<ChangeOutcome | null>;
  /**
   * Adds or removes one user's reaction. null when nothing changed (already there / not there).
   * 'not_found' for no such live message; 'reaction_limit' when the message already has
   * `maxEmoji` different emoji and this would add another.
   */
  setReaction(roomId: string, messageId: string, userId: string, emoji: string, on: boolean, at: number, maxEmoji: number): Promise<ChangeOutcome | null>;
  /** The former versions of a message, oldest first. */
  listEdits(messageId: string): Promise<MessageEdit[]>;
  /**
   * A webhook post with a key: updates the webhook's live message with that key (as editMessage),
   * or appends a new one carrying the key. Same guards as appendMessage, in one transaction.
   */
  postKeyed(draft: MessageDraft, key: string, change: ContentChange, options: AppendOptions & { webhook: { id: string; generation: number } }): Promise<KeyedPostOutcome>;
  /**
   * Full-text search over live messages (never tombstones) of the rooms `query.userId` is a member
   * of, newest first, at most `query.limit` (search.ts).
   */
  searchMessages(query: SearchQuery): Promise<SearchHit[]>;

  // webhooks
  /** Creates a webhook unless the room already has `limit` live ones (StoreGuardError 'webhook_limit'). */
  createWebhook(webhook: WebhookRecord, limit: number): Promise<WebhookRecord>;
  /** A webhook, live or deleted (tombstone). */
  getWebhook(id: string): Promise<WebhookRecord | null>;
  listWebhooks(roomId: string): Promise<WebhookRecord[]>;
  renameWebhook(id: string, name: string): Promise<WebhookRecord | null>;
  /**
   * Bumps the generation of a live webhook. Its old URL stops working, or (issue 15) keeps working
   * until `previousValidUntil` (epoch ms); only the one generation before counts.
   */
  regenerateWebhook(id: string, previousValidUntil?: number | null): Promise<WebhookRecord | null>;
  /** Changes a live webhook's settings (issue 15); fields left out stay. null if it is not live. */
  updateWebhookSettings(id: string, settings: Partial<WebhookSettingsRecord>): Promise<WebhookRecord | null>;
  /** The post stored under this Idempotency-Key on this webhook after `expiredAt`, if any (issue 15). */
  findIdempotentPost(webhookId: string, key: string, expiredAt: number): Promise<IdempotentPost | null>;
  /** Deletes at most `limit` Idempotency-Key rows created at or before `expiredAt`; returns how many. */
  purgeIdempotencyKeys(expiredAt: number, limit: number): Promise<number>;
  deleteWebhook(id: string, now: number): Promise<boolean>;

  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
