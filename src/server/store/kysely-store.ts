/**
 * The Store, written once with Kysely for SQLite and PostgreSQL. Dialect differences (driver
 * setup and error translation) live in dialects/; everything here is portable SQL. Rows ↔ records:
 * mappers.ts and message-rows.ts; batching of message appends: group-commit.ts.
 */
import { type Kysely, type Transaction, sql } from './kysely.js';
import type { Mentions, MessageEdit, NotifyLevel, RoomRole } from '../../shared/api-types.js';
import type { Database } from './schema.js';
import { KyselyPushStore, type PushStore } from './push-store.js';
import { type DeliveryLogWriter, KyselyWebhookOpsStore, type WebhookOpsStore } from './webhook-ops-store.js';
import { searchMessages } from './search.js';
import { type AppendBatchEntry, type AppendOutcome, GroupCommit, type MessageAppender } from './group-commit.js';
import { fromUser, memberStateColumns, toMemberState, toUser, toWebhook, userColumns } from './mappers.js';
import { MESSAGE_COLUMNS, newMessageRecord, toMessage } from './message-rows.js';
import { NoChange, applyContentChange, bumpSeq, deleteInTx, editInTx, findKeyed, listRoomEvents, reactionInTx } from './message-changes.js';
import {
  type AlertCandidate,
  type AppendOptions,
  type ChangeOutcome,
  type ContentChange,
  type IdempotencyOptions,
  type IdempotentPost,
  IdempotentRepeatError,
  type KeyedPostOutcome,
  type MemberState,
  type MemberRecord,
  type MessageDraft,
  type MessagePage,
  type MessageRecord,
  type ReadMark,
  type RoomEvent,
  type RoomRecord,
  type RoomWithRole,
  type SearchHit,
  type SearchQuery,
  type SessionRecord,
  type Store,
  StoreGuardError,
  type UnreadRange,
  type UnreadTally,
  type UserRecord,
  type WebhookRecord,
  type WebhookSettingsRecord,
} from './types.js';

/** Rooms per tallyUnread query (bounds the statement's size and parameter count). */
const TALLY_ROOMS_PER_QUERY = 200;

/** LIKE pattern for a literal substring ('\\' escapes the wildcards). */
const likeContaining = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface KyselyStoreOptions {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Turns driver errors into StoreConflictError / StoreUnavailableError. */
  translateError: (e: unknown) => unknown;
  /** Closes the driver (pool or file). */
  onClose: () => Promise<void>;
  /**
   * Commits message batches instead of the portable transaction below (SQLite: a worker thread,
   * so that the fsync of each group commit does not block the event loop). Same guards, same rows.
   */
  appender?: MessageAppender;
  /**
   * Where webhook delivery logs are written (issue 15; default `db`). SQLite: a connection of its
   * own without an fsync per commit — diagnostics, not data (webhook-ops-store.ts).
   */
  logDb?: Kysely<Database>;
  /** Writes the delivery log's rows instead of `logDb` (SQLite: the writer thread, beside the messages). */
  logWriter?: DeliveryLogWriter;
}

export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly push: PushStore;
  readonly webhookOps: WebhookOpsStore;
  private readonly db: Kysely<Database>;
  private readonly translate: (e: unknown) => unknown;
  private readonly onClose: () => Promise<void>;
  private readonly appender: MessageAppender | undefined;
  private readonly groupCommit: GroupCommit;

  constructor(options: KyselyStoreOptions) {
    this.db = options.db;
    this.dialect = options.dialect;
    this.translate = options.translateError;
    this.onClose = options.onClose;
    const { appender } = options;
    this.appender = appender;
    this.groupCommit = new GroupCommit({
      commit: appender ? (batch) => appender.appendBatch(batch) : (batch) => this.appendBatchInTx(batch),
      translateError: options.translateError,
      offThread: appender !== undefined,
    });
    this.push = new KyselyPushStore(options.db, options.dialect, options.translateError);
    this.webhookOps = new KyselyWebhookOpsStore(options.db, options.logDb ?? options.db, options.translateError, options.logWriter);
  }

  /** Every public method runs through here so driver errors become store errors. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.translate(e);
    }
  }

  private tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.run(() => this.db.transaction().execute(fn));
  }

  // ---- users and sessions ----

  countUsers(): Promise<number> {
    return this.run(async () => {
      const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    });
  }

  async createFirstUser(user: UserRecord): Promise<UserRecord | null> {
    return this.tx(async (trx) => {
      // The flag row's primary key makes two racing setups impossible: the second one conflicts.
      const inserted = await trx
        .insertInto('instance_flags')
        .values({ name: 'setup', value: user.id, created_at: user.createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('name')
        .executeTakeFirst();
      if (!inserted) return null;
      await trx.insertInto('users').values(fromUser(user)).execute();
      return user;
    });
  }

  createUser(user: UserRecord): Promise<UserRecord> {
    return this.run(async () => {
      await this.db.insertInto('users').values(fromUser(user)).execute();
      return user;
    });
  }

  getUserById(id: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toUser(r) : null;
    });
  }

  getUserByEmail(email: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const r = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return r ? toUser(r) : null;
    });
  }

  listUsers(): Promise<UserRecord[]> {
    return this.run(async () => (await this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute()).map(toUser));
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('sessions')
        .values({ token_hash: s.tokenHash, user_id: s.userId, created_at: s.createdAt, expires_at: s.expiresAt })
        .execute();
    });
  }

  getSessionUser(tokenHash: string, now: number): Promise<UserRecord | null> {
    return this.run(async () => {
      const r = await this.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(userColumns)
        .where('sessions.token_hash', '=', tokenHash)
        .where('sessions.expires_at', '>', now)
        .executeTakeFirst();
      return r ? toUser(r) : null;
    });
  }

  deleteSession(tokenHash: string): Promise<void> {
    return this.run(async () => {
      await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    });
  }

  // ---- rooms and members ----

  createRoom(room: RoomRecord, now: number): Promise<RoomRecord> {
    return this.tx(async (trx) => {
      await trx
        .insertInto('rooms')
        .values({ id: room.id, name: room.name, created_by: room.createdBy, created_at: room.createdAt, last_seq: 0 })
        .execute();
      await trx.insertInto('room_members').values({ room_id: room.id, user_id: room.createdBy, role: 'administrator', joined_at: now }).execute();
      return { ...room, lastSeq: 0 };
    });
  }

  getRoom(id: string): Promise<RoomRecord | null> {
    return this.run(async () => {
      const r = await this.db.selectFrom('rooms').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? { id: r.id, name: r.name, createdBy: r.created_by, createdAt: Number(r.created_at), lastSeq: Number(r.last_seq) } : null;
    });
  }

  findRoomsByName(name: string): Promise<RoomRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('rooms').selectAll().where('name', '=', name).orderBy('created_at').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdBy: r.created_by, createdAt: Number(r.created_at), lastSeq: Number(r.last_seq) }));
    });
  }

  listRoomsForUser(userId: string): Promise<RoomWithRole[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('rooms')
        .innerJoin('room_members', 'room_members.room_id', 'rooms.id')
        .select(['rooms.id', 'rooms.name', 'rooms.created_by', 'rooms.created_at', 'rooms.last_seq', 'room_members.role', ...memberStateColumns])
        .where('room_members.user_id', '=', userId)
        .orderBy('rooms.name')
        .orderBy('rooms.id')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        createdBy: r.created_by,
        createdAt: Number(r.created_at),
        lastSeq: Number(r.last_seq),
        role: r.role,
        ...toMemberState(r),
      }));
    });
  }

  getMemberRole(roomId: string, userId: string): Promise<RoomRole | null> {
    return this.run(async () => {
      const r = await this.db
        .selectFrom('room_members')
        .select('role')
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return r?.role ?? null;
    });
  }

  listMembers(roomId: string): Promise<MemberRecord[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('room_members')
        .innerJoin('users', 'users.id', 'room_members.user_id')
        .select([...userColumns, 'room_members.role', 'room_members.joined_at', ...memberStateColumns])
        .where('room_members.room_id', '=', roomId)
        .orderBy('users.display_name')
        .orderBy('users.id')
        .execute();
      return rows.map((r) => ({ user: toUser(r), role: r.role, joinedAt: Number(r.joined_at), ...toMemberState(r) }));
    });
  }

  countMembers(roomId: string): Promise<number> {
    return this.run(() => this.countMembersIn(this.db, roomId));
  }

  private async countMembersIn(db: Kysely<Database>, roomId: string): Promise<number> {
    const r = await db
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('room_id', '=', roomId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  addMember(roomId: string, userId: string, role: RoomRole, now: number): Promise<void> {
    return this.run(async () => {
      // A new member starts with the room read: its history is there to scroll, not to badge.
      await this.db
        .insertInto('room_members')
        .values({
          room_id: roomId,
          user_id: userId,
          role,
          joined_at: now,
          last_read_seq: sql<number>`coalesce((select ${sql.ref('last_seq')} from ${sql.table('rooms')} where ${sql.ref('id')} = ${roomId}), 0)`,
        })
        .execute();
    });
  }

  // ---- read state and notification settings ----

  getMembership(roomId: string, userId: string): Promise<RoomWithRole | null> {
    return this.run(async () => {
      const r = await this.db
        .selectFrom('rooms')
        .innerJoin('room_members', 'room_members.room_id', 'rooms.id')
        .select(['rooms.id', 'rooms.name', 'rooms.created_by', 'rooms.created_at', 'rooms.last_seq', 'room_members.role', ...memberStateColumns])
        .where('rooms.id', '=', roomId)
        .where('room_members.user_id', '=', userId)
        .executeTakeFirst();
      if (!r) return null;
      return { id: r.id, name: r.name, createdBy: r.created_by, createdAt: Number(r.created_at), lastSeq: Number(r.last_seq), role: r.role, ...toMemberState(r) };
    });
  }

  markRead(roomId: string, userId: string, seq: number): Promise<ReadMark | null> {
    return this.run(async () => {
      // The room's last seq only grows, so min(seq, it) read now is never past the room's end.
      const room = await this.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst();
      if (!room) return null;
      const lastSeq = Number(room.last_seq);
      const target = Math.min(seq, lastSeq);
      // One conditional UPDATE: concurrent marks from several devices can only raise it.
      const raised = await this.db
        .updateTable('room_members')
        .set({ last_read_seq: target })
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .where('last_read_seq', '<', target)
        .returning('last_read_seq')
        .executeTakeFirst();
      if (raised) return { lastReadSeq: Number(raised.last_read_seq), lastSeq, changed: true };
      const current = await this.db
        .selectFrom('room_members')
        .select('last_read_seq')
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return current ? { lastReadSeq: Number(current.last_read_seq), lastSeq, changed: false } : null;
    });
  }

  setMemberSettings(roomId: string, userId: string, settings: Partial<Pick<MemberState, 'notify' | 'muted'>>): Promise<boolean> {
    return this.run(async () => {
      const patch: { notify?: NotifyLevel; muted?: number } = {};
      if (settings.notify !== undefined) patch.notify = settings.notify;
      if (settings.muted !== undefined) patch.muted = settings.muted ? 1 : 0;
      if (Object.keys(patch).length === 0) return (await this.getMemberRole(roomId, userId)) !== null;
      const r = await this.db
        .updateTable('room_members')
        .set(patch)
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .returning('user_id')
        .executeTakeFirst();
      return r !== undefined;
    });
  }

  /**
   * Two index-backed queries per batch of rooms, whatever the number of rooms: each range is a
   * (room_id = ?, seq > ?, seq <= ?) range scan of messages_room_seq_uq, and the caller keeps each
   * range within LIMITS.unreadCountCap messages. Nothing here runs on the append path.
   */
  tallyUnread(userId: string, ranges: readonly UnreadRange[]): Promise<Map<string, UnreadTally>> {
    return this.run(async () => {
      const out = new Map<string, UnreadTally>();
      const todo = ranges.filter((r) => r.through > r.after);
      for (let i = 0; i < todo.length; i += TALLY_ROOMS_PER_QUERY) {
        const batch = todo.slice(i, i + TALLY_ROOMS_PER_QUERY);
        const base = this.db
          .selectFrom('messages')
          .where((eb) =>
            eb.or(batch.map((r) => eb.and([eb('room_id', '=', r.roomId), eb('seq', '>', r.after), eb('seq', '<=', r.through)]))),
          )
          // Not the member's own messages, nor deleted ones (a tombstone has nothing left to read).
          .where((eb) => eb.or([eb('sender_type', '<>', 'user'), eb('sender_id', '<>', userId)]))
          .where('deleted_at', 'is', null);
        const counts = await base
          .select(['room_id', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy('room_id')
          .execute();
        for (const c of counts) out.set(c.room_id, { unread: Number(c.n), alertCandidates: [] });
        if (counts.length === 0) continue;
        // Mentions are stored as JSON text ({"all":…,"present":…,"userIds":[…]}): a message that
        // may alert this member names @All, @Present or their id. services/alerts.ts decides.
        const candidates = await base
          .select(['room_id', 'seq', 'sender_type', 'sender_id', 'sender_name', 'mentions', 'present_user_ids'])
          .where((eb) =>
            eb.or([
              eb('mentions', 'like', '%"all":true%'),
              eb('mentions', 'like', '%"present":true%'),
              sql<boolean>`${sql.ref('mentions')} like ${likeContaining(`"${userId}"`)} escape '\\'`,
            ]),
          )
          .orderBy('room_id')
          .orderBy('seq')
          .execute();
        for (const m of candidates) {
          const candidate: AlertCandidate = {
            roomId: m.room_id,
            seq: Number(m.seq),
            sender: { type: m.sender_type, id: m.sender_id, name: m.sender_name },
            mentions: JSON.parse(m.mentions) as Mentions,
            ...(m.present_user_ids !== null ? { presentAtPost: JSON.parse(m.present_user_ids) as string[] } : {}),
          };
          out.get(m.room_id)?.alertCandidates.push(candidate);
        }
      }
      return out;
    });
  }

  /** Locks the room row (PostgreSQL) so concurrent role changes see one another. */
  private async lockRoom(trx: Transaction<Database>, roomId: string): Promise<boolean> {
    const r = await trx.updateTable('rooms').set({ last_seq: sql`last_seq` }).where('id', '=', roomId).returning('id').executeTakeFirst();
    return r !== undefined;
  }

  private async adminCount(trx: Transaction<Database>, roomId: string): Promise<number> {
    const r = await trx
      .selectFrom('room_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('room_id', '=', roomId)
      .where('role', '=', 'administrator')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  setMemberRole(roomId: string, userId: string, role: RoomRole): Promise<boolean> {
    return this.tx(async (trx) => {
      if (!(await this.lockRoom(trx, roomId))) throw new StoreGuardError('not_found');
      const current = await trx.selectFrom('room_members').select('role').where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
      if (!current) throw new StoreGuardError('not_found');
      if (current.role === 'administrator' && role !== 'administrator' && (await this.adminCount(trx, roomId)) <= 1) return false;
      await trx.updateTable('room_members').set({ role }).where('room_id', '=', roomId).where('user_id', '=', userId).execute();
      return true;
    });
  }

  removeMember(roomId: string, userId: string): Promise<boolean> {
    return this.tx(async (trx) => {
      if (!(await this.lockRoom(trx, roomId))) throw new StoreGuardError('not_found');
      const current = await trx.selectFrom('room_members').select('role').where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
      if (!current) throw new StoreGuardError('not_found');
      if (current.role === 'administrator' && (await this.adminCount(trx, roomId)) <= 1) return false;
      await trx.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).execute();
      return true;
    });
  }

  // ---- messages ----

  /**
   * Group commit (group-commit.ts): appends that arrive while a transaction is committing go
   * together into the next one, each answered only after that commit.
   */
  appendMessage(draft: MessageDraft, options: AppendOptions = {}): Promise<MessageRecord> {
    // With an Idempotency-Key (issue 15): a transaction of its own, so that waiting for a concurrent
    // post with the same key holds up no one else's batch (and never holds a room's lock meanwhile).
    if (options.idempotency) return this.tx((trx) => this.appendInTx(trx, draft, options));
    return this.groupCommit.append(draft, options);
  }

  /** The portable group commit: one transaction for the batch; a refused item (guard) wrote nothing and the rest goes on. */
  private async appendBatchInTx(batch: AppendBatchEntry[]): Promise<AppendOutcome[]> {
    let outcomes: AppendOutcome[] = [];
    await this.db.transaction().execute(async (trx) => {
      outcomes = [];
      for (const item of batch) {
        try {
          outcomes.push(await this.appendInTx(trx, item.draft, item.options));
        } catch (e) {
          if (e instanceof StoreGuardError) outcomes.push(e);
          else throw e;
        }
      }
    });
    return outcomes;
  }

  /**
   * One message inside a transaction. Every guard is checked before the first write.
   * (dialects/sqlite-append-worker.ts does the same in SQL for SQLite; keep them in step.)
   */
  private async appendInTx(trx: Transaction<Database>, draft: MessageDraft, options: AppendOptions, webhookKey?: string): Promise<MessageRecord> {
    await this.checkAppendGuards(trx, draft.roomId, options, draft.createdAt);
    // The key before the room's counter: waiting for a concurrent post's key never holds the room's lock.
    if (options.idempotency) await this.claimIdempotencyKey(trx, draft, options);
    // Bumping the room's counter takes the room's row lock: seqs are gap-free and in commit order.
    const seq = await bumpSeq(trx, draft.roomId);
    if (seq === null) throw new StoreGuardError('not_found');
    await trx
      .insertInto('messages')
      .values({
        id: draft.id,
        room_id: draft.roomId,
        seq,
        sender_type: draft.sender.type,
        sender_id: draft.sender.id,
        sender_name: draft.sender.name,
        content: draft.content,
        html: draft.html,
        mentions: JSON.stringify(draft.mentions),
        created_at: draft.createdAt,
        present_user_ids: draft.presentAtPost ? JSON.stringify(draft.presentAtPost) : null,
        ...(webhookKey !== undefined ? { webhook_key: webhookKey } : {}),
      })
      .execute();
    if (options.markReadBy !== undefined) {
      await trx
        .updateTable('room_members')
        .set({ last_read_seq: seq })
        .where('room_id', '=', draft.roomId)
        .where('user_id', '=', options.markReadBy)
        .where('last_read_seq', '<', seq)
        .execute();
    }
    return newMessageRecord(draft, seq);
  }

  /**
   * The guards of an append, checked before its first write. The webhook is live at the post's
   * generation, or (issue 15) that generation is the previous one and its overlap lasts past `now`.
   */
  private async checkAppendGuards(trx: Transaction<Database>, roomId: string, options: AppendOptions, now: number): Promise<void> {
    if (options.webhook) {
      const { id, generation } = options.webhook;
      const w = await trx
        .selectFrom('webhooks')
        .select('id')
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .where((eb) => eb.or([eb('generation', '=', generation), eb.and([eb('generation', '=', generation + 1), eb('previous_valid_until', '>', now)])]))
        .executeTakeFirst();
      if (!w) throw new StoreGuardError('webhook_gone');
    }
    if (options.maxMembers !== undefined) {
      const n = await this.countMembersIn(trx, roomId);
      if (n > options.maxMembers) throw new StoreGuardError('too_many_members', n);
    }
  }

  /**
   * Records the post's Idempotency-Key (issue 15), or throws IdempotentRepeatError with the post
   * that holds it. The unique (webhook_id, key) makes a concurrent insert of the same key wait for
   * the other transaction (PostgreSQL) or run after it (SQLite has one writer): if that one commits,
   * this one answers its post; if it rolls back, this one takes the key. An expired row is taken over.
   */
  private async claimIdempotencyKey(trx: Transaction<Database>, draft: MessageDraft, options: AppendOptions): Promise<void> {
    const { idempotency, webhook } = options;
    if (!idempotency || !webhook) throw new Error('an idempotent append needs the webhook');
    const claimed = await trx
      .insertInto('webhook_idempotency_keys')
      .values({ webhook_id: webhook.id, key: idempotency.key, message_id: draft.id, room_id: draft.roomId, created_at: draft.createdAt })
      .onConflict((oc) =>
        oc
          .columns(['webhook_id', 'key'])
          .doUpdateSet((eb) => ({ message_id: eb.ref('excluded.message_id'), room_id: eb.ref('excluded.room_id'), created_at: eb.ref('excluded.created_at') }))
          .where('webhook_idempotency_keys.created_at', '<=', idempotency.expiredAt),
      )
      .returning('message_id')
      .executeTakeFirst();
    if (claimed) return;
    const earlier = await this.idempotentPostIn(trx, webhook.id, idempotency);
    if (!earlier) throw new Error('idempotency key neither claimed nor found');
    throw new IdempotentRepeatError(earlier);
  }

  private async idempotentPostIn(db: Kysely<Database>, webhookId: string, { key, expiredAt }: IdempotencyOptions): Promise<IdempotentPost | null> {
    const r = await db
      .selectFrom('webhook_idempotency_keys')
      .select(['message_id', 'room_id'])
      .where('webhook_id', '=', webhookId)
      .where('key', '=', key)
      .where('created_at', '>', expiredAt)
      .executeTakeFirst();
    return r ? { messageId: r.message_id, roomId: r.room_id } : null;
  }

  findIdempotentPost(webhookId: string, key: string, expiredAt: number): Promise<IdempotentPost | null> {
    return this.run(() => this.idempotentPostIn(this.db, webhookId, { key, expiredAt }));
  }

  purgeIdempotencyKeys(expiredAt: number, limit: number): Promise<number> {
    return this.run(async () => {
      // Bounded, portably: up to the created_at of the limit-th oldest expired row (created_at
      // index), so a purge deletes about `limit` rows (a few more only when they share a millisecond).
      const nth = await this.db
        .selectFrom('webhook_idempotency_keys')
        .select('created_at')
        .where('created_at', '<=', expiredAt)
        .orderBy('created_at')
        .limit(1)
        .offset(Math.max(0, limit - 1))
        .executeTakeFirst();
      const through = nth ? Math.min(expiredAt, Number(nth.created_at)) : expiredAt;
      const r = await this.db.deleteFrom('webhook_idempotency_keys').where('created_at', '<=', through).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }

  listMessages(roomId: string, page: MessagePage): Promise<MessageRecord[]> {
    return this.run(async () => {
      let q = this.db.selectFrom('messages').select(MESSAGE_COLUMNS).where('room_id', '=', roomId);
      if (page.after !== undefined) {
        const rows = await q.where('seq', '>', page.after).orderBy('seq', 'asc').limit(page.limit).execute();
        return rows.map(toMessage);
      }
      if (page.before !== undefined) q = q.where('seq', '<', page.before);
      const rows = await q.orderBy('seq', 'desc').limit(page.limit).execute();
      return rows.reverse().map(toMessage);
    });
  }

  listRoomEvents(roomId: string, after: number, limit: number): Promise<RoomEvent[]> {
    return this.run(async () => {
      // Everything up to the room's last seq read first is committed (seqs commit in order), so
      // both of listRoomEvents' reads see all of it, even as separate statements: bounded by it,
      // their merge has no gap. Later events are read by the next call.
      const room = await this.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst();
      if (!room || Number(room.last_seq) <= after) return [];
      return (await listRoomEvents(this.db, roomId, after, limit)).filter((e) => e.seq <= Number(room.last_seq));
    });
  }

  /** Runs a change transaction; a NoChange rolls it back and answers null. */
  private async change(fn: (trx: Transaction<Database>) => Promise<ChangeOutcome>): Promise<ChangeOutcome | null> {
    try {
      return await this.tx(fn);
    } catch (e) {
      if (e instanceof NoChange) return null;
      throw e;
    }
  }

  editMessage(roomId: string, messageId: string, change: ContentChange): Promise<ChangeOutcome | null> {
    return this.change((trx) => editInTx(trx, roomId, messageId, change));
  }

  deleteMessage(roomId: string, messageId: string, by: 'author' | 'administrator', at: number): Promise<ChangeOutcome | null> {
    return this.change((trx) => deleteInTx(trx, roomId, messageId, by, at));
  }

  setReaction(roomId: string, messageId: string, userId: string, emoji: string, on: boolean, at: number, maxEmoji: number): Promise<ChangeOutcome | null> {
    return this.change((trx) => reactionInTx(trx, roomId, messageId, userId, emoji, on, at, maxEmoji));
  }

  listEdits(messageId: string): Promise<MessageEdit[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('message_edits').selectAll().where('message_id', '=', messageId).orderBy('version').execute();
      return rows.map((r) => ({ version: Number(r.version), content: r.content, createdAt: Number(r.created_at), replacedAt: Number(r.replaced_at) }));
    });
  }

  async postKeyed(
    draft: MessageDraft,
    key: string,
    change: ContentChange,
    options: AppendOptions & { webhook: { id: string; generation: number } },
  ): Promise<KeyedPostOutcome> {
    try {
      return await this.tx(async (trx): Promise<KeyedPostOutcome> => {
        await this.checkAppendGuards(trx, draft.roomId, options, draft.createdAt);
        // An Idempotency-Key (issue 15) before the room's lock, as in appendInTx.
        if (options.idempotency) await this.claimIdempotencyKey(trx, draft, options);
        // The room's lock first, so two posts with the same key never both find none and insert.
        if (!(await this.lockRoom(trx, draft.roomId))) throw new StoreGuardError('not_found');
        const row = await findKeyed(trx, options.webhook.id, key);
        if (!row) return { kind: 'created', message: await this.appendInTx(trx, draft, {}, key) };
        if (options.idempotency) {
          // The key names the message this post updates, not the draft's unused id.
          await trx
            .updateTable('webhook_idempotency_keys')
            .set({ message_id: row.id })
            .where('webhook_id', '=', options.webhook.id)
            .where('key', '=', options.idempotency.key)
            .execute();
        }
        const seq = await bumpSeq(trx, draft.roomId);
        if (seq === null) throw new StoreGuardError('not_found');
        return { kind: 'updated', ...(await applyContentChange(trx, seq, row, change, draft.sender.name)) };
      });
    } catch (e) {
      if (e instanceof NoChange) return { kind: 'unchanged', message: e.message_ };
      throw e;
    }
  }

  /** Full-text search (issue 14): search.ts. */
  searchMessages(query: SearchQuery): Promise<SearchHit[]> {
    return this.run(() => searchMessages(this.db, this.dialect, query));
  }

  getMessage(id: string): Promise<MessageRecord | null> {
    return this.run(async () => {
      const r = await this.db.selectFrom('messages').select(MESSAGE_COLUMNS).where('id', '=', id).executeTakeFirst();
      return r ? toMessage(r) : null;
    });
  }

  // ---- webhooks ----

  createWebhook(w: WebhookRecord, limit: number): Promise<WebhookRecord> {
    return this.tx(async (trx) => {
      if (!(await this.lockRoom(trx, w.roomId))) throw new StoreGuardError('not_found');
      const r = await trx
        .selectFrom('webhooks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('room_id', '=', w.roomId)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(r.n) >= limit) throw new StoreGuardError('webhook_limit', Number(r.n));
      await trx
        .insertInto('webhooks')
        .values({
          id: w.id,
          room_id: w.roomId,
          name: w.name,
          name_key: w.name.toLowerCase(),
          generation: w.generation,
          created_by: w.createdBy,
          created_at: w.createdAt,
          deleted_at: null,
          rate_per_second: w.settings?.ratePerSecond ?? null,
          burst: w.settings?.burst ?? null,
          allow_broadcast_mentions: w.settings?.allowBroadcastMentions === false ? 0 : 1,
          previous_valid_until: null,
        })
        .execute();
      return {
        ...w,
        settings: { ratePerSecond: w.settings?.ratePerSecond ?? null, burst: w.settings?.burst ?? null, allowBroadcastMentions: w.settings?.allowBroadcastMentions !== false },
        previousValidUntil: null,
      };
    });
  }

  getWebhook(id: string): Promise<WebhookRecord | null> {
    return this.run(async () => {
      const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toWebhook(r) : null;
    });
  }

  listWebhooks(roomId: string): Promise<WebhookRecord[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('webhooks')
        .selectAll()
        .where('room_id', '=', roomId)
        .where('deleted_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toWebhook);
    });
  }

  renameWebhook(id: string, name: string): Promise<WebhookRecord | null> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('webhooks')
        .set({ name, name_key: name.toLowerCase() })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return r ? toWebhook(r) : null;
    });
  }

  regenerateWebhook(id: string, previousValidUntil: number | null = null): Promise<WebhookRecord | null> {
    return this.run(async () => {
      // Only the one generation before may keep working: a second regenerate replaces the overlap.
      const r = await this.db
        .updateTable('webhooks')
        .set({ generation: sql`generation + 1`, previous_valid_until: previousValidUntil })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return r ? toWebhook(r) : null;
    });
  }

  updateWebhookSettings(id: string, settings: Partial<WebhookSettingsRecord>): Promise<WebhookRecord | null> {
    return this.run(async () => {
      const patch: { rate_per_second?: number | null; burst?: number | null; allow_broadcast_mentions?: number } = {};
      if (settings.ratePerSecond !== undefined) patch.rate_per_second = settings.ratePerSecond;
      if (settings.burst !== undefined) patch.burst = settings.burst;
      if (settings.allowBroadcastMentions !== undefined) patch.allow_broadcast_mentions = settings.allowBroadcastMentions ? 1 : 0;
      if (Object.keys(patch).length === 0) {
        const w = await this.getWebhook(id);
        return w && w.deletedAt === null ? w : null;
      }
      const r = await this.db
        .updateTable('webhooks')
        .set(patch)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return r ? toWebhook(r) : null;
    });
  }

  deleteWebhook(id: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('webhooks')
        .set({ deleted_at: now })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return r !== undefined;
    });
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.appender?.close();
    await this.onClose();
  }
}
