/**
 * Domain records → API shapes, for every layer that answers clients (the HTTP routes and the
 * realtime stream). Nothing secret (password hashes, generations) ever leaves through here.
 */
import type { Message, Room, User } from '../shared/api-types.js';
import type { RoomView } from './services/read-state.js';
import type { MemberRecord, MessageRecord, UserRecord } from './store/types.js';

export const presentUser = (u: UserRecord): User => ({
  id: u.id,
  email: u.email,
  alias: u.alias,
  displayName: u.displayName,
  isSystemAdmin: u.isSystemAdmin,
  createdAt: u.createdAt,
});

export const presentMember = (m: MemberRecord) => ({
  userId: m.user.id,
  displayName: m.user.displayName,
  alias: m.user.alias,
  email: m.user.email,
  role: m.role,
});

export const presentMessage = (m: MessageRecord): Message => ({
  id: m.id,
  roomId: m.roomId,
  seq: m.seq,
  sender: m.sender,
  content: m.content,
  html: m.html,
  mentions: m.mentions,
  createdAt: m.createdAt,
  editedAt: m.editedAt,
  deletedAt: m.deletedAt,
  ...(m.deletedBy !== undefined ? { deletedBy: m.deletedBy } : {}),
  reactions: m.reactions,
});

export const presentRoom = (r: RoomView): Room => ({
  id: r.id,
  name: r.name,
  createdAt: r.createdAt,
  role: r.role,
  lastSeq: r.lastSeq,
  lastReadSeq: r.lastReadSeq,
  unreadCount: r.unreadCount,
  mentionCount: r.mentionCount,
  notify: r.notify,
  muted: r.muted,
});
