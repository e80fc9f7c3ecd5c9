/** Table types for Kysely. Timestamps are epoch milliseconds; booleans are 0/1; JSON is text. */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  alias: string;
  display_name: string;
  password_hash: string;
  is_system_admin: number;
  created_at: number;
}

export interface SessionsTable {
  /** sha256 of the session token: a stolen database holds no usable session. */
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface RoomsTable {
  id: string;
  name: string;
  created_by: string;
  created_at: number;
  /** The last seq given to a message of this room; bumped in the storing transaction. */
  last_seq: number;
}

export interface RoomMembersTable {
  room_id: string;
  user_id: string;
  role: 'administrator' | 'member';
  joined_at: number;
  /** The highest seq this member has read (migration 0003); only ever raised. */
  last_read_seq: Generated<number>;
  /** 'all' | 'mentions' | 'none' (migration 0003; default 'mentions'). */
  notify: Generated<'all' | 'mentions' | 'none'>;
  /** 0/1 (migration 0003). */
  muted: Generated<number>;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  seq: number;
  sender_type: 'user' | 'webhook';
  sender_id: string;
  /** The sender's name when posted: a renamed webhook's old posts keep the old name. */
  sender_name: string;
  content: string;
  html: string;
  /** JSON {all, present, userIds}. */
  mentions: string;
  created_at: number;
  /** JSON array of user ids present when an @Present message was posted; null otherwise (migration 0002). */
  present_user_ids: string | null;
  /** When the content last changed (migration 0005); null if never. */
  edited_at: Generated<number | null>;
  /** Tombstone (migration 0005): content and html are '' once set. */
  deleted_at: Generated<number | null>;
  /** 'author' | 'administrator' (migration 0005). */
  deleted_by: Generated<string | null>;
  /** Versions replaced so far (migration 0005); the history keeps the last LIMITS.editHistoryMax. */
  edit_count: Generated<number>;
  /** JSON [{emoji, userIds}] kept in step with message_reactions (migration 0005); null when none. */
  reactions: Generated<string | null>;
  /** A webhook post's key (migration 0005): a later post of the same webhook with that key updates this message. */
  webhook_key: Generated<string | null>;
}

/** A change of a message, at its own room seq (migration 0005): the stream replays these with the messages. */
export interface MessageEventsTable {
  room_id: string;
  seq: number;
  message_id: string;
  kind: 'edited' | 'deleted' | 'reactions';
  /** JSON {mentions, presentAtPost?}: the mentions this change added; null when none. */
  added_mentions: string | null;
  created_at: number;
}

/** A former version of an edited message (migration 0005). */
export interface MessageEditsTable {
  message_id: string;
  version: number;
  content: string;
  created_at: number;
  replaced_at: number;
}

/** One user's reaction to a message (migration 0005): one per user per emoji. */
export interface MessageReactionsTable {
  message_id: string;
  emoji: string;
  user_id: string;
  created_at: number;
}

export interface WebhooksTable {
  id: string;
  room_id: string;
  name: string;
  /** Lower-cased name, unique in the room among live webhooks. */
  name_key: string;
  /** Bumped by "regenerate URL": the token is derived from (secret, id, generation). */
  generation: number;
  created_by: string;
  created_at: number;
  /** Deleted webhooks stay as tombstones so their once-valid URLs answer 404, not 403. */
  deleted_at: number | null;
  /** Its own posts per second (migration 0007); null: the server's WEBHOOK_RATE_PER_SECOND. */
  rate_per_second: number | null;
  /** Its own bucket capacity (migration 0007); null: the server's WEBHOOK_BURST. */
  burst: number | null;
  /** 0: posts using @All or @Present are refused (migration 0007). */
  allow_broadcast_mentions: Generated<number>;
  /** Until when (epoch ms) the token of generation - 1 still works after a regenerate with overlap (migration 0007). */
  previous_valid_until: number | null;
}

/** Idempotency-Key of webhook posts (migration 0007): the post a key stored, for 24 hours. */
export interface WebhookIdempotencyKeysTable {
  webhook_id: string;
  key: string;
  message_id: string;
  room_id: string;
  created_at: number;
}

export interface InstanceFlagsTable {
  name: string;
  value: string;
  created_at: number;
}

/** A browser's Web Push subscription (migration 0004). */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  /** The push service URL (unique: an endpoint re-subscribed by another user moves to them). */
  endpoint: string;
  /** base64url P-256 public key and auth secret of the subscription (RFC 8291). */
  p256dh: string;
  auth: string;
  /** PushSubscription.expirationTime (epoch ms), null when the browser gave none. */
  expires_at: number | null;
  created_at: number;
  /** Last time the browser sent it; past the per-user cap the least recently sent goes. */
  updated_at: number;
}

/** Per room, the last seq whose pushes have been planned (migration 0004). A missing row means 0. */
export interface PushCursorsTable {
  room_id: string;
  seq: number;
}

/** The push outbox: one row per (subscription, message) until it is delivered or given up (migration 0004). */
export interface PushDeliveriesTable {
  id: string;
  subscription_id: string;
  message_id: string;
  /** The JSON PushPayload, built when the delivery was planned. */
  payload: string;
  urgency: 'high' | 'normal';
  /** Sends started so far (raised when claimed). */
  attempts: number;
  created_at: number;
  /** When it may be sent next; a claim pushes it forward by the lease, so a crashed sender's rows come back. */
  next_attempt_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  messages: MessagesTable;
  message_events: MessageEventsTable;
  message_edits: MessageEditsTable;
  message_reactions: MessageReactionsTable;
  webhooks: WebhooksTable;
  webhook_idempotency_keys: WebhookIdempotencyKeysTable;
  instance_flags: InstanceFlagsTable;
  push_subscriptions: PushSubscriptionsTable;
  push_cursors: PushCursorsTable;
  push_deliveries: PushDeliveriesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_failures: WebhookFailuresTable;
  webhook_notices: WebhookNoticesTable;
  webhook_audit: WebhookAuditTable;
}

/** One attempt on an authenticated webhook URL (migration 0008); the newest 100 per webhook are kept. Never a token or a body. */
export interface WebhookDeliveriesTable {
  /** A UUID v7 (time-ordered): newest first is `order by id desc`. */
  id: string;
  webhook_id: string;
  /** When it was answered. */
  at: number;
  status: number;
  code: string | null;
  /** Request body size in bytes. */
  bytes: number;
  /** Time to answer, in microseconds. */
  latency_us: number;
  message_id: string | null;
  /** 'chime' | 'slack' | 'sns' | 'alertmanager' | 'grafana' | 'github' | 'test'. */
  format: string;
}

/** 4xx answers of a webhook per minute (migration 0008), summed over 10 minutes for failure notices; older rows are pruned. */
export interface WebhookFailuresTable {
  webhook_id: string;
  /** floor(epoch ms / 60 000) */
  minute: number;
  failures: number;
  first_at: number;
  last_at: number;
  last_status: number;
  last_code: string | null;
}

/** The last failure notice of a webhook (migration 0008): at most one per hour, claimed by a conditional upsert. */
export interface WebhookNoticesTable {
  webhook_id: string;
  room_id: string;
  notified_at: number;
  /** The first failure counted in the notice's window. */
  since: number;
  failures: number;
  last_status: number;
  last_code: string | null;
}

/** Who changed which webhook of a room, and when (migration 0008). */
export interface WebhookAuditTable {
  /** A UUID v7 (time-ordered). */
  id: string;
  room_id: string;
  at: number;
  /** 'user' | 'server' (the command line). */
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  action: string;
  webhook_id: string;
  /** The webhook's name after the action (its last name, for a deletion). */
  webhook_name: string;
  /** JSON object. */
  details: string;
}

export type { Generated };
