/** Fast fixtures straight into the store (no password hashing): rooms of N members. */
import { randomUUID } from 'node:crypto';
import type { Store, UserRecord } from '../server/store/types.js';

export async function seedUsers(store: Store, n: number, prefix = 'seed'): Promise<UserRecord[]> {
  const users: UserRecord[] = [];
  for (let i = 0; i < n; i++) {
    const tag = `${prefix}${i}-${randomUUID().slice(0, 6)}`;
    users.push(
      await store.createUser({ id: randomUUID(), email: `${tag}@example.com`, alias: tag, displayName: `Seed ${i}`, passwordHash: 'scrypt$none', isSystemAdmin: false, createdAt: Date.now() }),
    );
  }
  return users;
}

/** Adds `n` fresh members to the room. */
export async function seedMembers(store: Store, roomId: string, n: number, prefix?: string): Promise<UserRecord[]> {
  const users = await seedUsers(store, n, prefix);
  for (const u of users) await store.addMember(roomId, u.id, 'member', Date.now());
  return users;
}
