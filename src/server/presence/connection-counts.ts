/**
 * This process's clients: room → user → number of that user's connections with the room open.
 * Both trackers count with it (in-process.ts, and redis.ts for this node's own clients).
 */
export class ConnectionCounts {
  private readonly rooms = new Map<string, Map<string, number>>();

  /** One more connection; true when the user was not present through this process before. */
  increment(roomId: string, userId: string): boolean {
    let users = this.rooms.get(roomId);
    if (!users) this.rooms.set(roomId, (users = new Map()));
    const n = users.get(userId) ?? 0;
    users.set(userId, n + 1);
    return n === 0;
  }

  /** One fewer; true when that was the user's last connection with the room open here. */
  decrement(roomId: string, userId: string): boolean {
    const users = this.rooms.get(roomId);
    const n = users?.get(userId) ?? 0;
    if (!users || n === 0) return false;
    if (n > 1) {
      users.set(userId, n - 1);
      return false;
    }
    users.delete(userId);
    if (users.size === 0) this.rooms.delete(roomId);
    return true;
  }

  users(roomId: string): Set<string> {
    return new Set(this.rooms.get(roomId)?.keys() ?? []);
  }

  /** Every room with its present users. */
  entries(): IterableIterator<[string, Map<string, number>]> {
    return this.rooms.entries();
  }

  clear(): void {
    this.rooms.clear();
  }
}
