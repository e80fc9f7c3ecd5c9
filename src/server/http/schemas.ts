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

export const Room = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer(),
  role: RoomRole,
  lastSeq: Type.Integer(),
});

export const Mentions = Type.Object({ all: Type.Boolean(), present: Type.Boolean(), userIds: Type.Array(Type.String()) });

export const Message = Type.Object({
  id: Type.String(),
  roomId: Type.String(),
  seq: Type.Integer(),
  sender: Type.Object({ type: Type.Union([Type.Literal('user'), Type.Literal('webhook')]), id: Type.String(), name: Type.String() }),
  content: Type.String(),
  html: Type.String(),
  mentions: Mentions,
  createdAt: Type.Integer(),
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

/** The error responses a route can give, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));
}
