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
}

export interface InstanceFlagsTable {
  name: string;
  value: string;
  created_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  messages: MessagesTable;
  webhooks: WebhooksTable;
  instance_flags: InstanceFlagsTable;
}

export type { Generated };
