/** Request and response schemas (TypeBox → JSON Schema): validation and the OpenAPI document. */
import { type TSchema, Type } from './typebox.js';
import { ALIAS_PATTERN, LIMITS } from '../../shared/limits.js';

export const ErrorBody = Type.Object(
  { Code: Type.String(), Message: Type.String() },
  { $id: 'Error', description: 'Every error: a code and a sentence that says what to fix.' },
);

export const Uuid = Type.String({ format: 'uuid', description: 'must be a UUID' });

export const Email = Type.String({ format: 'email', maxLength: LIMITS.emailMaxChars });
export const Alias = Type.String({
  minLength: 1,
  maxLength: LIMITS.aliasMaxChars,
  pattern: ALIAS_PATTERN,
  description: 'may contain only lower-case letters a-z, digits and . _ - (e.g. mary)',
});
export const DisplayName = Type.String({ minLength: 1, maxLength: LIMITS.displayNameMaxChars });
export const Password = Type.String({ minLength: LIMITS.passwordMinChars, maxLength: LIMITS.passwordMaxChars });
export const RoomRole = Type.Unsafe<'administrator' | 'member'>({ type: 'string', enum: ['administrator', 'member'] });

export const NewUserBody = Type.Object({ email: Email, alias: Alias, displayName: DisplayName, password: Password }, { additionalProperties: false });

export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  alias: Type.String(),
  displayName: Type.String(),
  isSystemAdmin: Type.Boolean(),
  createdAt: Type.Integer({ description: 'epoch milliseconds' }),
});

export const TokenAndUser = Type.Object({ token: Type.String({ description: 'bearer token for Authorization: Bearer' }), user: User });

export const NotifyLevel = Type.Unsafe<'all' | 'mentions' | 'none'>({
  type: 'string',
  enum: ['all', 'mentions', 'none'],
  description: 'which messages notify you: all (every message), mentions (mentions and alerts; the default) or none',
});

const UNREAD_CAP_NOTE = `counted over at most the newest ${LIMITS.unreadCountCap} messages after lastReadSeq, so never more than ${LIMITS.unreadCountCap} (show "999+")`;

export const Room = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer(),
  role: RoomRole,
  lastSeq: Type.Integer(),
  lastReadSeq: Type.Integer({ description: 'the highest seq the caller has read (the same on every device; never moves backwards)' }),
  unreadCount: Type.Integer({ description: `messages after lastReadSeq not sent by the caller; ${UNREAD_CAP_NOTE}` }),
  mentionCount: Type.Integer({ description: `unread messages that alert the caller (SPEC 4); ${UNREAD_CAP_NOTE}` }),
  notify: NotifyLevel,
  muted: Type.Boolean({ description: 'muted: no notifications at all, and the unread count is not emphasised (mentions still count)' }),
});

export const ReadState = Type.Object(
  {
    roomId: Type.String(),
    lastReadSeq: Type.Integer(),
    unreadCount: Type.Integer({ description: UNREAD_CAP_NOTE }),
    mentionCount: Type.Integer({ description: UNREAD_CAP_NOTE }),
    lastSeq: Type.Integer({ description: 'the room\'s last seq when counted; later messages are not in the counts' }),
  },
  { description: 'The caller\'s read state in a room (also sent to all of their streams as room.read).' },
);

export const ReadBody = Type.Object(
  { seq: Type.Integer({ minimum: 0, description: 'must be a whole number: the seq of the newest message you have read' }) },
  { additionalProperties: false },
);

export const MemberSettingsBody = Type.Object(
  { notify: Type.Optional(NotifyLevel), muted: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, description: 'notify (all, mentions or none), muted (true or false), or both' },
);

export const Mentions = Type.Object({ all: Type.Boolean(), present: Type.Boolean(), userIds: Type.Array(Type.String()) });

export const Reaction = Type.Object({
  emoji: Type.String(),
  count: Type.Integer(),
  userIds: Type.Array(Type.String(), { description: 'who reacted, oldest first' }),
});

export const MessageEdit = Type.Object({
  version: Type.Integer(),
  content: Type.String(),
  createdAt: Type.Integer({ description: 'when this version was posted or became current' }),
  replacedAt: Type.Integer(),
});

export const Message = Type.Object({
  id: Type.String(),
  roomId: Type.String(),
  seq: Type.Integer(),
  sender: Type.Object({ type: Type.Union([Type.Literal('user'), Type.Literal('webhook')]), id: Type.String(), name: Type.String() }),
  content: Type.String(),
  html: Type.String(),
  mentions: Mentions,
  createdAt: Type.Integer(),
  editedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'when the content last changed (an edit, or a webhook update by key); null if never' }),
  deletedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'when it was deleted (a tombstone: content and html are empty); null if not' }),
  deletedBy: Type.Optional(Type.Union([Type.Literal('author'), Type.Literal('administrator')])),
  reactions: Type.Array(Reaction),
});

export const RosterMember = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  alias: Type.String(),
  email: Type.String(),
  role: RoomRole,
  present: Type.Boolean(),
});

export const Member = Type.Object({ userId: Type.String(), displayName: Type.String(), alias: Type.String(), email: Type.String(), role: RoomRole });

export const Roster = Type.Object({
  members: Type.Array(RosterMember),
  webhooks: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
});

export const RoomIdParams = Type.Object({ roomId: Uuid });
export const RoomUserParams = Type.Object({ roomId: Uuid, userId: Uuid });
export const RoomMessageParams = Type.Object({ roomId: Uuid, messageId: Uuid });

// ---- Web Push (issue 13; the payload pushed to devices is PushPayload in src/shared/api-types.ts) ----

const Base64Url = (description: string) => Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+={0,2}$', description });
const PushEndpoint = Type.String({ minLength: 1, maxLength: 2048, description: 'the https URL of a known push service (PushSubscription.endpoint)' });

export const PushPublicKey = Type.Object({
  publicKey: Type.String({ description: 'the VAPID public key (uncompressed P-256 point, base64url): PushManager.subscribe({applicationServerKey})' }),
});

export const PushSubscriptionBody = Type.Object(
  {
    endpoint: PushEndpoint,
    expirationTime: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'epoch milliseconds, or null' })),
    keys: Type.Object(
      {
        p256dh: Base64Url('must be the subscription\'s P-256 public key (65 bytes), base64url'),
        auth: Base64Url('must be the subscription\'s 16-byte auth secret, base64url'),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'PushSubscription.toJSON() as the browser gives it' },
);

export const PushSubscriptionInfo = Type.Object({
  id: Type.String(),
  endpoint: Type.String(),
  expirationTime: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.Integer({ description: 'epoch milliseconds' }),
});

export const PushUnsubscribeBody = Type.Object({ endpoint: PushEndpoint }, { additionalProperties: false });

/** The error responses a route can give, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));
}
