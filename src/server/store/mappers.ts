/** User, webhook and membership rows ↔ records, for the Kysely store (message rows: message-rows.ts). */
import type { NotifyLevel } from '../../shared/api-types.js';
import type { Selectable } from './kysely.js';
import type { RoomMembersTable, UsersTable, WebhooksTable } from './schema.js';
import type { MemberState, UserRecord, WebhookRecord } from './types.js';

export const toUser = (r: Selectable<UsersTable>): UserRecord => ({
  id: r.id,
  email: r.email,
  alias: r.alias,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  isSystemAdmin: Number(r.is_system_admin) === 1,
  createdAt: Number(r.created_at),
});

export const fromUser = (u: UserRecord): Selectable<UsersTable> => ({
  id: u.id,
  email: u.email,
  alias: u.alias,
  display_name: u.displayName,
  password_hash: u.passwordHash,
  is_system_admin: u.isSystemAdmin ? 1 : 0,
  created_at: u.createdAt,
});

export const toWebhook = (r: Selectable<WebhooksTable>): WebhookRecord => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  generation: Number(r.generation),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  settings: {
    ratePerSecond: r.rate_per_second === null ? null : Number(r.rate_per_second),
    burst: r.burst === null ? null : Number(r.burst),
    allowBroadcastMentions: Number(r.allow_broadcast_mentions) !== 0,
  },
  previousValidUntil: r.previous_valid_until === null ? null : Number(r.previous_valid_until),
});

export const toNotify = (v: string): NotifyLevel => (v === 'all' || v === 'none' ? v : 'mentions');

export const toMemberState = (r: Pick<Selectable<RoomMembersTable>, 'notify' | 'muted' | 'last_read_seq'>): MemberState => ({
  notify: toNotify(r.notify),
  muted: Number(r.muted) === 1,
  lastReadSeq: Number(r.last_read_seq),
});

export const memberStateColumns = ['room_members.notify', 'room_members.muted', 'room_members.last_read_seq'] as const;

export const userColumns = ['users.id', 'users.email', 'users.alias', 'users.display_name', 'users.password_hash', 'users.is_system_admin', 'users.created_at'] as const;
