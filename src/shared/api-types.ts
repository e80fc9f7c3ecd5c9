/** Shapes of the HTTP API and stream (SPEC 5, 6), shared by the server and the web client. */

export type RoomRole = 'administrator' | 'member';

/** Which messages of a room notify a member: every one, mentions and alerts only (default), none. */
export type NotifyLevel = 'all' | 'mentions' | 'none';
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['all', 'mentions', 'none'];

/** A member's read state in a room (PUT /api/v1/rooms/{roomId}/read, and the `room.read` frame). */
export interface ReadState {
  roomId: string;
  /** The highest seq this user has read in the room; it never moves backwards. */
  lastReadSeq: number;
  /** Messages after lastReadSeq not sent by this user (at most LIMITS.unreadCountCap, 1000). */
  unreadCount: number;
  /** Of those, the ones that alert this user (SPEC 4; at most LIMITS.unreadCountCap). */
  mentionCount: number;
  /**
   * The room's last seq when the counts were taken: messages with a larger seq are not in them
   * (a client adds those it receives afterwards itself).
   */
  lastSeq: number;
}

export interface User {
  id: string;
  email: string;
  alias: string;
  displayName: string;
  isSystemAdmin: boolean;
  createdAt: number;
}

export interface Room {
  id: string;
  name: string;
  createdAt: number;
  /** The caller's role in the room. */
  role: RoomRole;
  /** The room's latest seq (0 when empty): of its last message, or of the last change of one (edit, deletion, reaction). */
  lastSeq: number;
  /** The caller's read state (the same on every device). */
  lastReadSeq: number;
  unreadCount: number;
  mentionCount: number;
  /** The caller's notification setting for the room. */
  notify: NotifyLevel;
  /** Muted: no notifications at all and the unread count is not emphasised. */
  muted: boolean;
}

export interface Mentions {
  all: boolean;
  present: boolean;
  userIds: string[];
}

export interface MessageSender {
  type: 'user' | 'webhook';
  id: string;
  name: string;
}

export interface Message {
  id: string;
  roomId: string;
  seq: number;
  sender: MessageSender;
  content: string;
  html: string;
  mentions: Mentions;
  createdAt: number;
  /** When the content was last changed (an edit, or a webhook post that updated it by key); null if never. */
  editedAt: number | null;
  /**
   * When the message was deleted; null if it was not. A deleted message is a tombstone: it keeps
   * its id, seq, sender and time, and its content and html are empty.
   */
  deletedAt: number | null;
  /** Who deleted it: its author, or a room administrator. Absent unless deletedAt is set. */
  deletedBy?: 'author' | 'administrator';
  /** Reactions, in the order each emoji was first used: one per user per emoji. */
  reactions: Reaction[];
  /** Only on the stream: whether this message alerts the receiving user. */
  alert?: boolean;
}

export interface Reaction {
  /** The emoji itself (e.g. "✅"), never a shortcode. */
  emoji: string;
  count: number;
  /** Who reacted, oldest first. */
  userIds: string[];
}

/** A former version of an edited message (GET …/messages/{messageId}/edits; its author and room administrators). */
export interface MessageEdit {
  version: number;
  content: string;
  /** When this version was posted or became current. */
  createdAt: number;
  /** When it was replaced by the next version. */
  replacedAt: number;
}

/** How a message changed (the `change` of a `message.updated` frame). */
export type MessageChange = 'edited' | 'deleted' | 'reactions';

export interface RosterMember {
  userId: string;
  displayName: string;
  alias: string;
  email: string;
  role: RoomRole;
  present: boolean;
}

export interface RosterWebhook {
  id: string;
  name: string;
}

export interface Roster {
  members: RosterMember[];
  webhooks: RosterWebhook[];
}

export interface WebhookWithUrl {
  id: string;
  name: string;
  url: string;
  createdAt: number;
  /** Its rate limit and @All/@Present rule (issue 15); PATCH changes them. */
  settings: WebhookSettings;
  /** Until when (epoch ms) the URL before the last regenerate still works; null: it does not (issue 15). */
  previousUrlValidUntil: number | null;
  /** The secret GitHub signs deliveries with (X-Hub-Signature-256); changes when the URL is regenerated (docs/formats.md). */
  signingSecret: string;
  /** Set while the webhook is failing: it produced a failure notice within the last hour and has not answered 200 since (OPS-2). */
  failing: WebhookFailing | null;
}

/**
 * A webhook's own settings (issue 15), as in effect: defaults WEBHOOK_RATE_PER_SECOND and
 * WEBHOOK_BURST, at most WEBHOOK_MAX_RATE_PER_SECOND and WEBHOOK_MAX_BURST.
 */
export interface WebhookSettings {
  /** Posts per second refilled into its token bucket. */
  ratePerSecond: number;
  /** The bucket's capacity: the most posts it may send at once. */
  burst: number;
  /** false: posts using @All or @Present are refused (400 BroadcastNotAllowed). */
  allowBroadcastMentions: boolean;
}

/** PATCH /api/v1/rooms/{roomId}/webhooks/{webhookId}: what to change (issue 15); null sets ratePerSecond or burst back to the server's default. */
export interface WebhookPatch {
  name?: string;
  settings?: { ratePerSecond?: number | null; burst?: number | null; allowBroadcastMentions?: boolean };
}

/** GET /api/v1/rooms/{roomId}/webhooks. */
export interface WebhookList {
  webhooks: WebhookWithUrl[];
  /** PUBLIC_URL, the base of every webhook URL. */
  publicUrl: string;
  /** false: PUBLIC_URL is not set and the URLs use the default http://localhost:PORT. */
  publicUrlSet: boolean;
}

// ---- Web Push (RFC 8030/8291/8292) ----

/** GET /api/v1/push/public-key: the server's VAPID public key, for PushManager.subscribe({applicationServerKey}). */
export interface PushPublicKey {
  /** The uncompressed P-256 point (65 bytes), base64url without padding. */
  publicKey: string;
}

/** POST /api/v1/push-subscriptions: exactly what the browser's PushSubscription.toJSON() gives. */
export interface PushSubscriptionInput {
  /** https URL of a known push service (the server refuses others with 400 and lists the allowed hosts). */
  endpoint: string;
  expirationTime?: number | null;
  keys: {
    /** The subscription's P-256 public key: 65 bytes (uncompressed point), base64url. */
    p256dh: string;
    /** The subscription's auth secret: 16 bytes, base64url. */
    auth: string;
  };
}

/** A saved subscription (201 when new, 200 when the same user sent the same endpoint again). */
export interface PushSubscriptionInfo {
  id: string;
  endpoint: string;
  expirationTime: number | null;
  createdAt: number;
}

/** A push payload's `body` is cut to this many characters (Unicode code points), "…" included. */
export const PUSH_PREVIEW_MAX_CHARS = 200;

/**
 * The JSON payload of every push message (decrypt it in the service worker with
 * `event.data.json()`). Sent to a member's devices when a message alerts them (SPEC 4) and they do
 * not have the room open anywhere, or when their setting for the room is 'all'; never for their own
 * messages, never with 'none' or muted.
 */
export interface PushPayload {
  type: 'message';
  roomId: string;
  roomName: string;
  messageId: string;
  seq: number;
  /** As the client labels the sender: "Name (Webhook)" for webhook posts, the display name for members. */
  sender: string;
  /**
   * Plain text as the message reads on screen (Markdown, emoji, links and mentions rendered to
   * text: `/md ## Deploy :rocket:` → `Deploy 🚀`), whitespace collapsed, at most
   * PUSH_PREVIEW_MAX_CHARS code points (ending in "…" when cut).
   */
  body: string;
  /** True when the message alerts this user (a mention, @All, @Present); false when sent for the 'all' setting. */
  alert: boolean;
  /** When it was posted, epoch milliseconds. */
  createdAt: number;
  /**
   * The web client's path that opens the room at this message, relative to the server's origin:
   * `/rooms/{roomId}?seq={seq}` (the client routes /rooms/{roomId}; `seq` is the message to show).
   */
  url: string;
}

/** One hit of GET /api/v1/search (docs/search.md). */
export interface SearchResult {
  /** The message as the room's message list gives it. */
  message: Message;
  roomName: string;
  /** HTML: the text around the matches, escaped by the server, each match in <mark>…</mark>; no other markup. */
  snippet: string;
}

/** GET /api/v1/search: newest first; pass nextCursor as `cursor` for the next (older) page, null on the last. */
export interface SearchResponse {
  results: SearchResult[];
  nextCursor: string | null;
}

// ---- Webhook operations (issue 15): delivery log, test message, failure notices, audit trail ----

/** How an attempt reached the webhook: the Chime endpoint, one of the other formats, or "Send test message". */
export type DeliveryFormat = 'chime' | 'slack' | 'sns' | 'alertmanager' | 'grafana' | 'github' | 'test';

/** One attempt on an authenticated webhook URL (never its token, never its body). */
export interface WebhookDelivery {
  /** Time-ordered (UUID v7). */
  id: string;
  /** When it was answered, epoch ms. */
  at: number;
  /** The HTTP status answered. */
  status: number;
  /** The error Code answered; null for 200. */
  code: string | null;
  /** Request body size in bytes. */
  bytes: number;
  /** Time to answer, in milliseconds. */
  latencyMs: number;
  /** The message stored (or updated by key); null when nothing was stored. */
  messageId: string | null;
  format: DeliveryFormat;
}

/** GET /api/v1/rooms/{roomId}/webhooks/{webhookId}/deliveries: the last 100 attempts, newest first. */
export interface WebhookDeliveryList {
  deliveries: WebhookDelivery[];
}

/** POST …/webhooks/{webhookId}/test: the test post's outcome (messageId null when it was refused, e.g. 429). */
export interface WebhookTestResult {
  messageId: string | null;
  delivery: WebhookDelivery;
}

/** A webhook's failure streak that produced a notice (the webhook object's `failing`). */
export interface WebhookFailing {
  /** The first failure counted, epoch ms. */
  since: number;
  /** 4xx answers counted in the notice's 10-minute window. */
  failures: number;
  lastStatus: number;
  lastCode: string;
}

export type AuditAction = 'webhook.created' | 'webhook.renamed' | 'webhook.regenerated' | 'webhook.deleted' | 'webhook.settings';

export interface AuditEntry {
  /** Time-ordered (UUID v7): pass the last one as `before` for the next page. */
  id: string;
  at: number;
  /** Who: a user (id and display name), or the server itself (the command line: id null). */
  actor: { type: 'user' | 'server'; id: string | null; name: string };
  action: AuditAction;
  webhookId: string;
  /** The webhook's name after the action (its last name, for a deletion). */
  webhookName: string;
  /** renamed: {from, to}; regenerated: {keepOldUrlForHours}; settings: {changes: {field: {from, to}}}; created/deleted: {}. */
  details: Record<string, unknown>;
}

/** GET /api/v1/rooms/{roomId}/audit: newest first. */
export interface AuditList {
  entries: AuditEntry[];
}
