/** Helpers shared by the CLI's commands: the command shape, errors, I/O, and the services on the configured store. */
import type { Config } from '../server/config.js';
import { type ServiceContext, discardEvents, nobodyPresent, systemClock } from '../server/services/context.js';
import { RoomService } from '../server/services/room-service.js';
import { UserService } from '../server/services/user-service.js';
import { openStore } from '../server/store/open-store.js';
import type { Store } from '../server/store/types.js';

export class UsageError extends Error {}

export interface CliExtension {
  /** The command words, e.g. "webhook create" or "post". */
  words: string;
  usage: string;
  summary: string;
  run(config: Config, args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number>;
}

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Opens the configured store for one command and closes it afterwards. */
export async function withServices<T>(config: Config, fn: (ctx: ServiceContext & { rooms: RoomService; users: UserService }) => Promise<T>): Promise<T> {
  const store: Store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    const ctx: ServiceContext = { config, store, clock: systemClock, presence: nobodyPresent, events: discardEvents };
    return await fn({ ...ctx, rooms: new RoomService(ctx), users: new UserService(ctx) });
  } finally {
    await store.close();
  }
}

/** A room by id, or by name when exactly one room has it. */
export async function resolveRoom(store: Store, ref: string): Promise<string> {
  if (/^[0-9a-f-]{36}$/.test(ref) && (await store.getRoom(ref))) return ref;
  const matches = await store.findRoomsByName(ref);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length > 1) throw new UsageError(`several rooms are named "${ref}"; use the room id (${matches.map((m) => m.id).join(', ')})`);
  throw new UsageError(`no room with id or name "${ref}"`);
}

