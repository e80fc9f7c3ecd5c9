/** Rooms, members and roles (SPEC 1, 6). Every method checks the actor's rights first. */
import { randomUUID } from 'node:crypto';
import type { RoomRole, Roster } from '../../shared/api-types.js';
import { AppError } from '../errors.js';
import { type MemberRecord, StoreConflictError, StoreGuardError, type UserRecord } from '../store/types.js';
import { type Actor, isServer, requireMember, requireRoomAdmin, roomNotFound } from './access.js';
import type { ServiceContext } from './context.js';
import { type RoomView, roomViewFor, withReadCounts } from './read-state.js';

const lastAdmin = () =>
  new AppError('Conflict', 'A room needs at least one administrator; make another member an administrator first.');

export class RoomService {
  constructor(private readonly ctx: ServiceContext) {}

  async create(actor: UserRecord, name: string): Promise<RoomView> {
    const trimmed = name.trim();
    if (trimmed === '') throw new AppError('InvalidRequest', 'name must not be blank; give the room a name.');
    const now = this.ctx.clock.now();
    const room = await this.ctx.store.createRoom({ id: randomUUID(), name: trimmed, createdBy: actor.id, createdAt: now, lastSeq: 0 }, now);
    // The creator is the first member: their open streams subscribe to the room (room.added) like any added member's.
    this.ctx.events.publish({ type: 'member.added', roomId: room.id, userId: actor.id });
    return { ...room, role: 'administrator', notify: 'mentions', muted: false, lastReadSeq: 0, unreadCount: 0, mentionCount: 0 };
  }

  /** The caller's rooms with their own read state, counts and notification settings. */
  async list(actor: UserRecord): Promise<RoomView[]> {
    return withReadCounts(this.ctx.store, actor.id, await this.ctx.store.listRoomsForUser(actor.id));
  }

  async get(actor: UserRecord, roomId: string): Promise<RoomView> {
    await requireMember(this.ctx.store, actor, roomId);
    const room = await roomViewFor(this.ctx.store, actor.id, roomId);
    if (!room) throw roomNotFound();
    return room;
  }

  async addMember(actor: Actor, roomId: string, who: { userId?: string; email?: string; role?: RoomRole }): Promise<MemberRecord> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'add members');
    const user = who.userId
      ? await this.ctx.store.getUserById(who.userId)
      : await this.ctx.store.getUserByEmail((who.email ?? '').trim().toLowerCase());
    if (!user) {
      throw new AppError('NotFound', who.userId ? 'No user has that userId; check the id.' : 'No user has that email; ask a system administrator to create the account first.');
    }
    const role = who.role ?? 'member';
    const now = this.ctx.clock.now();
    try {
      await this.ctx.store.addMember(roomId, user.id, role, now);
    } catch (e) {
      if (e instanceof StoreConflictError) throw new AppError('Conflict', `${user.email} is already a member of this room.`);
      throw e;
    }
    this.ctx.events.publish({ type: 'member.added', roomId, userId: user.id });
    const added = (await this.ctx.store.listMembers(roomId)).find((m) => m.user.id === user.id);
    return added ?? { user, role, joinedAt: now, notify: 'mentions', muted: false, lastReadSeq: 0 };
  }

  async setRole(actor: Actor, roomId: string, userId: string, role: RoomRole): Promise<MemberRecord> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'change roles');
    let ok: boolean;
    try {
      ok = await this.ctx.store.setMemberRole(roomId, userId, role);
    } catch (e) {
      if (e instanceof StoreGuardError && e.reason === 'not_found') throw memberNotFound();
      throw e;
    }
    if (!ok) throw lastAdmin();
    this.ctx.events.publish({ type: 'member.role', roomId, userId });
    const member = (await this.ctx.store.listMembers(roomId)).find((m) => m.user.id === userId);
    if (!member) throw memberNotFound();
    return member;
  }

  /** Room administrators remove anyone; any member may remove themselves (leave). */
  async removeMember(actor: Actor, roomId: string, userId: string): Promise<void> {
    if (!isServer(actor) && userId === actor.id) await requireMember(this.ctx.store, actor, roomId);
    else await requireRoomAdmin(this.ctx.store, actor, roomId, 'remove members');
    let ok: boolean;
    try {
      ok = await this.ctx.store.removeMember(roomId, userId);
    } catch (e) {
      if (e instanceof StoreGuardError && e.reason === 'not_found') throw memberNotFound();
      throw e;
    }
    if (!ok) throw lastAdmin();
    this.ctx.events.publish({ type: 'member.removed', roomId, userId });
  }

  async roster(actor: UserRecord, roomId: string): Promise<Roster> {
    await requireMember(this.ctx.store, actor, roomId);
    const [members, webhooks, present] = await Promise.all([
      this.ctx.store.listMembers(roomId),
      this.ctx.store.listWebhooks(roomId),
      this.ctx.presence.presentUserIds(roomId),
    ]);
    return {
      members: members.map((m) => ({
        userId: m.user.id,
        displayName: m.user.displayName,
        alias: m.user.alias,
        email: m.user.email,
        role: m.role,
        present: present.has(m.user.id),
      })),
      webhooks: webhooks.map((w) => ({ id: w.id, name: w.name })),
    };
  }
}

const memberNotFound = () => new AppError('NotFound', 'That user is not a member of this room; check the userId.');
