/**
 * The Store: everything Carillon keeps durably, in domain terms. One Kysely implementation
 * serves SQLite and PostgreSQL (kysely-store.ts); store errors know nothing of HTTP.
 */
import type { Mentions, MessageSender, NotifyLevel, RoomRole } from '../../shared/api-types.js';
import type { PushStore } from './push-store.js';

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
}

/** A message before the store gives it its seq. */
export type MessageDraft = Omit<MessageRecord, 'seq'>;

export interface WebhookRecord {
  id: string;
  roomId: string;
  name: string;
  generation: number;
  createdBy: string;
  createdAt: number;
  deletedAt: number | null;
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
  /** When set, the append is refused (StoreGuardError 'webhook_gone') unless this webhook is live at this generation. */
  webhook?: { id: string; generation: number };
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
  constructor(readonly reason: 'too_many_members' | 'webhook_limit' | 'webhook_gone' | 'not_found', readonly detail: number = 0) {
    super(`guard failed: ${reason}`);
    this.name = 'StoreGuardError';
  }
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Web Push subscriptions, cursors and outbox (push-store.ts). */
  readonly push: PushStore;

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

  // webhooks
  /** Creates a webhook unless the room already has `limit` live ones (StoreGuardError 'webhook_limit'). */
  createWebhook(webhook: WebhookRecord, limit: number): Promise<WebhookRecord>;
  /** A webhook, live or deleted (tombstone). */
  getWebhook(id: string): Promise<WebhookRecord | null>;
  listWebhooks(roomId: string): Promise<WebhookRecord[]>;
  renameWebhook(id: string, name: string): Promise<WebhookRecord | null>;
  /** Bumps the generation of a live webhook (its old URL stops working). */
  regenerateWebhook(id: string): Promise<WebhookRecord | null>;
  deleteWebhook(id: string, now: number): Promise<boolean>;

  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
