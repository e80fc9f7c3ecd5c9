/** Authorization rules shared by the services (SPEC 6): 401 anonymous, 404 non-member, 403 wrong role. */
import type { RoomRole } from '../../shared/api-types.js';
import { AppError } from '../errors.js';
import type { Store, UserRecord } from '../store/types.js';

export const roomNotFound = () =>
  new AppError('NotFound', 'No such room, or you are not a member of it; ask a room administrator to add you.');

/** The server itself (the CLI on the data directory): every room right, no user identity. */
export const SERVER_ACTOR = Object.freeze({ kind: 'server' as const });
export type Actor = UserRecord | typeof SERVER_ACTOR;
export const isServer = (a: Actor): a is typeof SERVER_ACTOR => a === SERVER_ACTOR;

/** The actor's role in the room; a non-member gets 404 so rooms cannot be enumerated. */
export async function requireMember(store: Store, actor: Actor, roomId: string): Promise<RoomRole> {
  if (isServer(actor)) {
    if (!(await store.getRoom(roomId))) throw roomNotFound();
    return 'administrator';
  }
  const role = await store.getMemberRole(roomId, actor.id);
  if (!role) throw roomNotFound();
  return role;
}

export async function requireRoomAdmin(store: Store, actor: Actor, roomId: string, action: string): Promise<void> {
  const role = await requireMember(store, actor, roomId);
  if (role !== 'administrator') {
    throw new AppError('Forbidden', `Only room administrators can ${action}; ask an administrator of this room.`);
  }
}

export function requireSystemAdmin(actor: UserRecord, action: string): void {
  if (!actor.isSystemAdmin) throw new AppError('Forbidden', `Only system administrators can ${action}.`);
}
