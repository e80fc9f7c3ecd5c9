/**
 * The Web Push part of the store (migration 0004): subscriptions, the per-room cursor that turns
 * stored messages into deliveries, and the delivery outbox. A small interface of its own, reached
 * as `store.push`, so the main Store does not grow by a dozen methods.
 *
 * Claims across nodes: on PostgreSQL the cursor rows and due deliveries are taken with
 * `FOR UPDATE SKIP LOCKED`, so two nodes never plan the same room's messages or send the same
 * delivery at once, and neither waits for the other. SQLite is one process, and every transaction
 * on it takes the write lock first (BEGIN IMMEDIATE, dialects/sqlite.ts), which serialises them.
 */
import { randomUUID } from 'node:crypto';
import type { Mentions, MessageSender, NotifyLevel } from '../../shared/api-types.js';
import { type Kysely, type Transaction, sql } from './kysely.js';
import type { Database, PushSubscriptionsTable } from './schema.js';
import type { Selectable } from './kysely.js';

export interface PushSubscriptionRecord {
  id: string;
  userId: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What fan-out needs of a message (no content: the payload is made from the rendered HTML). */
export interface PushMessage {
  id: string;
  roomId: string;
  seq: number;
  sender: MessageSender;
  html: string;
  mentions: Mentions;
  createdAt: number;
  presentAtPost?: string[];
  /**
   * Set when this is an update of an earlier message that added mentions (issue 14): `mentions`
   * are the added ones, and it pushes only to whom they alert and the version before did not.
   */
  update?: { alertedBefore: { mentions: Mentions; presentAtPost?: string[] } };
}

/** A push subscription of a room member, with that member's settings for the room. */
export interface SubscribedMember {
  subscriptionId: string;
  userId: string;
  notify: NotifyLevel;
  muted: boolean;
}

/** A room whose cursor was claimed, with its messages after the cursor and its subscribed members. */
export interface FanOutRoom {
  roomId: string;
  roomName: string;
  messages: PushMessage[];
  subscribed: SubscribedMember[];
}

export interface NewDelivery {
  subscriptionId: string;
  messageId: string;
  payload: string;
  urgency: 'high' | 'normal';
}

export interface FanOutOptions {
  now: number;
  /** At most this many messages per room per call (the rest: `more`). */
  maxMessagesPerRoom: number;
  /**
   * The deliveries for a room's new messages, only called when someone in the room has a live
   * subscription (on PostgreSQL inside the transaction that holds the room's cursor; on SQLite
   * before the write transaction).
   */
  plan(room: FanOutRoom): Promise<NewDelivery[]> | NewDelivery[];
}

export interface FanOutResult {
  /** Rooms whose cursor this call held (and moved, if they had new messages). */
  claimed: string[];
  /** Rooms another node is planning right now (PostgreSQL), or that do not exist. */
  skipped: string[];
  /** Claimed rooms with more messages after this batch. */
  more: string[];
  messages: number;
  deliveries: number;
}

export interface ClaimedDelivery {
  id: string;
  messageId: string;
  payload: string;
  urgency: 'high' | 'normal';
  /** Including this one. */
  attempts: number;
  createdAt: number;
  subscription: Pick<PushSubscriptionRecord, 'id' | 'endpoint' | 'p256dh' | 'auth'>;
}

export interface DeliveryOutcomes {
  /** Sent (2xx), or given up: the rows go. */
  finished: string[];
  /** Try again at the time given. */
  retry: { id: string; at: number }[];
  /** Claimed but never sent (shutdown): due again at once, the attempt not counted. */
  released: string[];
  /** Subscriptions the push service says are gone (404/410): they go, with their deliveries. */
  goneSubscriptions: string[];
}

export interface PushStore {
  /**
   * Saves a subscription for `userId`, or refreshes it (keys, expiry, updated_at) when this user
   * already has this endpoint. An endpoint held by another user (a shared browser, signed in anew)
   * moves to this one, and the old owner's pending deliveries to it are dropped. Past `maxPerUser`,
   * the user's least recently refreshed subscriptions go.
   */
  saveSubscription(sub: Omit<PushSubscriptionRecord, 'createdAt' | 'updatedAt'>, now: number, maxPerUser: number): Promise<{ subscription: PushSubscriptionRecord; created: boolean }>;
  /** Deletes the user's subscription with this endpoint (with its deliveries); false if the user has none. */
  deleteSubscription(userId: string, endpoint: string): Promise<boolean>;
  listSubscriptions(userId: string): Promise<PushSubscriptionRecord[]>;
  /** Rooms with messages after their cursor (the safety net for missed events), at most `limit`. */
  roomsBehind(limit: number): Promise<string[]>;
  /** Plans the pushes of the given rooms' new messages and moves their cursors, in one transaction. */
  fanOut(roomIds: readonly string[], options: FanOutOptions): Promise<FanOutResult>;
  /**
   * Records what became of claimed deliveries and, with `claim`, takes up to `limit` due ones for
   * `leaseMs` (their next_attempt_at moves past the lease), in one transaction: one commit per
   * batch of sends rather than two.
   */
  settleAndClaim(outcomes: DeliveryOutcomes, now: number, claim?: { leaseMs: number; limit: number }): Promise<ClaimedDelivery[]>;
  /** Deliveries in the outbox (due or waiting). */
  countDeliveries(): Promise<number>;
}

const toSubscription = (r: Selectable<PushSubscriptionsTable>): PushSubscriptionRecord => ({
  id: r.id,
  userId: r.user_id,
  endpoint: r.endpoint,
  p256dh: r.p256dh,
  auth: r.auth,
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const isEmptyOutcomes = (o: DeliveryOutcomes): boolean => o.finished.length + o.retry.length + o.released.length + o.goneSubscriptions.length === 0;

/** SQLite: how often a push write tries for the write lock (every 2–10 ms, so about half a second) before failing as unavailable. */
const SQLITE_LOCK_TRIES = 100;

/** `in (…)` lists are cut into pieces of this size (SQLite's and pg's parameter limits are far above). */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export class KyselyPushStore implements PushStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly translate: (e: unknown) => unknown,
  ) {}

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.translate(e);
    }
  }

  /**
   * A write transaction. On SQLite, webhook posts are committed by the writer thread on its own
   * connection (dialects/sqlite-appender.ts), and this must neither stall the server nor hold up
   * the writer:
   * - waiting here for the writer's lock would block the event loop (better-sqlite3 is synchronous
   *   and SQLite's busy handler sleeps), so the lock is tried without waiting (busy_timeout 0) and,
   *   while the writer holds it, tried again a few milliseconds later, asynchronously;
   * - the commit does not fsync (synchronous=NORMAL), so the lock is held for well under a
   *   millisecond rather than for a disk flush the writer would wait behind. In WAL mode the next
   *   message commit (synchronous=FULL) flushes these frames too; a power cut in between loses at
   *   most the last moments of push bookkeeping, which is redone (a push may then come twice).
   */
  private async write<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    if (this.dialect !== 'sqlite') return this.db.transaction().execute(fn);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.connection().execute(async (conn) => {
          const timeout = Number((await sql<{ timeout: number }>`pragma busy_timeout`.execute(conn)).rows[0]?.timeout ?? 5000);
          const synchronous = Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(conn)).rows[0]?.synchronous ?? 2);
          await sql`pragma busy_timeout = 0`.execute(conn);
          await sql`pragma synchronous = NORMAL`.execute(conn);
          await sql`pragma wal_autocheckpoint = 0`.execute(conn);
          try {
            return await conn.transaction().execute(fn);
          } finally {
            await sql.raw(`pragma synchronous = ${Math.floor(synchronous)}`).execute(conn);
            await sql`pragma wal_autocheckpoint = 1000`.execute(conn);
            await sql.raw(`pragma busy_timeout = ${Math.floor(timeout)}`).execute(conn);
          }
        });
      } catch (e) {
        if (!String((e as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY') || attempt >= SQLITE_LOCK_TRIES) throw e;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
      }
    }
  }

  saveSubscription(
    sub: Omit<PushSubscriptionRecord, 'createdAt' | 'updatedAt'>,
    now: number,
    maxPerUser: number,
  ): Promise<{ subscription: PushSubscriptionRecord; created: boolean }> {
    return this.run(() =>
      this.write(async (trx) => {
        const existing = await trx.selectFrom('push_subscriptions').selectAll().where('endpoint', '=', sub.endpoint).executeTakeFirst();
        if (existing && existing.user_id === sub.userId) {
          await trx
            .updateTable('push_subscriptions')
            .set({ p256dh: sub.p256dh, auth: sub.auth, expires_at: sub.expiresAt, updated_at: now })
            .where('id', '=', existing.id)
            .execute();
          return { subscription: { ...toSubscription(existing), p256dh: sub.p256dh, auth: sub.auth, expiresAt: sub.expiresAt, updatedAt: now }, created: false };
        }
        if (existing) await trx.deleteFrom('push_subscriptions').where('id', '=', existing.id).execute();
        const row = { id: sub.id, user_id: sub.userId, endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth, expires_at: sub.expiresAt, created_at: now, updated_at: now };
        await trx.insertInto('push_subscriptions').values(row).execute();
        const mine = await trx
          .selectFrom('push_subscriptions')
          .select('id')
          .where('user_id', '=', sub.userId)
          .orderBy('updated_at', 'desc')
          .orderBy('created_at', 'desc')
          .orderBy('id')
          .execute();
        const evicted = mine.slice(maxPerUser).map((r) => r.id).filter((id) => id !== sub.id);
        if (evicted.length > 0) await trx.deleteFrom('push_subscriptions').where('id', 'in', evicted).execute();
        return { subscription: toSubscription(row), created: true };
      }),
    );
  }

  deleteSubscription(userId: string, endpoint: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.write((trx) => trx.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).where('user_id', '=', userId).executeTakeFirst());
      return Number(r.numDeletedRows) > 0;
    });
  }

  listSubscriptions(userId: string): Promise<PushSubscriptionRecord[]> {
    return this.run(async () =>
      (await this.db.selectFrom('push_subscriptions').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()).map(toSubscription),
    );
  }

  roomsBehind(limit: number): Promise<string[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('rooms')
        .leftJoin('push_cursors', 'push_cursors.room_id', 'rooms.id')
        .select('rooms.id')
        .where((eb) => eb('rooms.last_seq', '>', eb.fn.coalesce('push_cursors.seq', sql<number>`0`)))
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    });
  }

  fanOut(roomIds: readonly string[], options: FanOutOptions): Promise<FanOutResult> {
    return this.run(async () => {
      const ids = [...new Set(roomIds)].sort();
      const result: FanOutResult = { claimed: [], skipped: [], more: [], messages: 0, deliveries: 0 };
      if (ids.length === 0) return result;
      // Rooms created after migration 0004 get their cursor row here, at 0, committed before the
      // claim below (so two nodes never wait on each other's uncommitted insert while claiming).
      const have = new Set((await this.db.selectFrom('push_cursors').select('room_id').where('room_id', 'in', ids).execute()).map((r) => r.room_id));
      const missing = ids.filter((id) => !have.has(id));
      if (missing.length > 0) {
        await this.write((trx) =>
          trx
            .insertInto('push_cursors')
            .columns(['room_id', 'seq'])
            .expression(trx.selectFrom('rooms').select(['rooms.id', sql<number>`0`.as('seq')]).where('rooms.id', 'in', missing))
            .onConflict((oc) => oc.column('room_id').doNothing())
            .execute(),
        );
      }
      if (this.dialect === 'postgres') await this.fanOutLocked(ids, options, result);
      else await this.fanOutThenWrite(ids, options, result);
      return result;
    });
  }

  /**
   * PostgreSQL: each room's cursor is claimed (FOR UPDATE SKIP LOCKED) before its messages are read
   * and planned, so of several nodes woken by the same message one plans it and the others pass.
   */
  private async fanOutLocked(ids: string[], options: FanOutOptions, result: FanOutResult): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const cursors = await trx.selectFrom('push_cursors').select(['room_id', 'seq']).where('room_id', 'in', ids).orderBy('room_id').forUpdate().skipLocked().execute();
      const claimed = new Set(cursors.map((c) => c.room_id));
      result.claimed = [...claimed];
      result.skipped = ids.filter((id) => !claimed.has(id));
      for (const cursor of cursors) {
        const after = Number(cursor.seq);
        const work = await this.readRoom(trx, cursor.room_id, after, options);
        if (!work) continue;
        const deliveries = await this.writeRoom(trx, cursor.room_id, after, work.to, work.deliveries, options.now);
        result.messages += work.to - after;
        result.deliveries += deliveries ?? 0;
        if (work.more) result.more.push(cursor.room_id);
      }
    });
  }

  /**
   * SQLite: one process, one fan-out at a time. The reading and planning happen before the write
   * transaction, which then only inserts and moves the cursors (if nobody moved them meanwhile):
   * the write lock, which webhook posts wait for in the writer thread, is held for the writes alone.
   */
  private async fanOutThenWrite(ids: string[], options: FanOutOptions, result: FanOutResult): Promise<void> {
    const cursors = await this.db.selectFrom('push_cursors').select(['room_id', 'seq']).where('room_id', 'in', ids).orderBy('room_id').execute();
    result.claimed = cursors.map((c) => c.room_id);
    result.skipped = ids.filter((id) => !result.claimed.includes(id));
    const planned: { roomId: string; from: number; to: number; more: boolean; deliveries: NewDelivery[] }[] = [];
    for (const cursor of cursors) {
      const from = Number(cursor.seq);
      const work = await this.readRoom(this.db, cursor.room_id, from, options);
      if (work) planned.push({ roomId: cursor.room_id, from, ...work });
    }
    if (planned.length === 0) return;
    await this.write(async (trx) => {
      Object.assign(result, { more: [], messages: 0, deliveries: 0 });
      for (const p of planned) {
        const deliveries = await this.writeRoom(trx, p.roomId, p.from, p.to, p.deliveries, options.now);
        if (deliveries === undefined) {
          // Moved meanwhile (another process on this database): look again.
          result.more.push(p.roomId);
          continue;
        }
        result.messages += p.to - p.from;
        result.deliveries += deliveries;
        if (p.more) result.more.push(p.roomId);
      }
    });
  }

  /**
   * A room's messages after `after` (at most maxMessagesPerRoom) and the deliveries planned for
   * them; null when there is nothing new.
   */
  private async readRoom(
    db: Kysely<Database>,
    roomId: string,
    after: number,
    options: FanOutOptions,
  ): Promise<{ to: number; more: boolean; deliveries: NewDelivery[] } | null> {
    // Only members with a live subscription matter; in most rooms there are none, and then the
    // messages are not even read: the cursor moves to the room's last seq.
    const subscribed = await db
      .selectFrom('push_subscriptions')
      .innerJoin('room_members', 'room_members.user_id', 'push_subscriptions.user_id')
      .select(['push_subscriptions.id', 'push_subscriptions.user_id', 'room_members.notify', 'room_members.muted'])
      .where('room_members.room_id', '=', roomId)
      .where((eb) => eb.or([eb('push_subscriptions.expires_at', 'is', null), eb('push_subscriptions.expires_at', '>', options.now)]))
      .orderBy('push_subscriptions.id')
      .execute();
    // Every seq up to the room's last one, read first, is committed (seqs commit in order). Seqs
    // are messages or changes of messages (issue 14): the cursor moves over both.
    const room = await db.selectFrom('rooms').select(['name', 'last_seq']).where('id', '=', roomId).executeTakeFirst();
    const last = Number(room?.last_seq ?? 0);
    if (last <= after) return null;
    if (subscribed.length === 0) return { to: last, more: false, deliveries: [] };
    const limit = options.maxMessagesPerRoom;
    const columns = ['messages.id', 'messages.room_id', 'messages.seq', 'messages.sender_type', 'messages.sender_id', 'messages.sender_name', 'messages.html', 'messages.mentions', 'messages.created_at', 'messages.present_user_ids'] as const;
    const [rows, changes] = await Promise.all([
      db.selectFrom('messages').select(columns).where('room_id', '=', roomId).where('seq', '>', after).where('seq', '<=', last).orderBy('seq').limit(limit).execute(),
      // Changes that added mentions (a webhook update by key that adds @someone): they alert anew,
      // for what they added only. Other changes notify nobody.
      db
        .selectFrom('message_events')
        .innerJoin('messages', 'messages.id', 'message_events.message_id')
        .select([...columns, 'message_events.seq as event_seq', 'message_events.added_mentions', 'message_events.created_at as event_at'])
        .where('message_events.room_id', '=', roomId)
        .where('message_events.seq', '>', after)
        .where('message_events.seq', '<=', last)
        .where('message_events.added_mentions', 'is not', null)
        .where('messages.deleted_at', 'is', null)
        .orderBy('message_events.seq')
        .limit(limit)
        .execute(),
    ]);
    const toPush = (r: (typeof rows)[number]): PushMessage => ({
      id: r.id,
      roomId: r.room_id,
      seq: Number(r.seq),
      sender: { type: r.sender_type, id: r.sender_id, name: r.sender_name },
      html: r.html,
      mentions: JSON.parse(r.mentions) as Mentions,
      createdAt: Number(r.created_at),
      ...(r.present_user_ids !== null ? { presentAtPost: JSON.parse(r.present_user_ids) as string[] } : {}),
    });
    const items: { at: number; message: PushMessage }[] = rows.map((r) => ({ at: Number(r.seq), message: toPush(r) }));
    for (const c of changes) {
      const added = JSON.parse(c.added_mentions!) as { mentions: Mentions; presentAtPost?: string[]; before?: { mentions: Mentions; presentAtPost?: string[] } };
      // Planned as the message (its current text, its place) alerting for the added mentions only.
      // Its time is the update's: an old alert escalated today is news, not history.
      const message = { ...toPush(c), mentions: added.mentions, createdAt: Number(c.event_at) };
      delete message.presentAtPost;
      if (added.presentAtPost) message.presentAtPost = added.presentAtPost;
      // Whom the version before alerted already, and no 'all' pushes: an update is not a new message.
      message.update = { alertedBefore: added.before ?? { mentions: { all: false, present: false, userIds: [] } } };
      items.push({ at: Number(c.event_seq), message });
    }
    items.sort((a, b) => a.at - b.at);
    // Both reads are complete up to `last` unless one filled its limit: then only up to what it read.
    const full = rows.length === limit || changes.length === limit;
    const kept = full ? items.slice(0, limit) : items;
    const to = full ? kept[kept.length - 1]!.at : last;
    const deliveries = await options.plan({
      roomId,
      roomName: room?.name ?? '',
      messages: kept.map((i) => i.message),
      subscribed: subscribed.map((s) => ({ subscriptionId: s.id, userId: s.user_id, notify: s.notify, muted: Number(s.muted) === 1 })),
    });
    return { to, more: full, deliveries };
  }

  /**
   * Moves the cursor from `from` to `to` and queues the deliveries, if the cursor is still at
   * `from`; undefined (and nothing written) if it moved. Returns the deliveries inserted.
   */
  private async writeRoom(trx: Transaction<Database>, roomId: string, from: number, to: number, deliveries: NewDelivery[], now: number): Promise<number | undefined> {
    const moved = await trx.updateTable('push_cursors').set({ seq: to }).where('room_id', '=', roomId).where('seq', '=', from).executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return undefined;
    let inserted = 0;
    for (const part of chunks(deliveries)) {
      const r = await trx
        .insertInto('push_deliveries')
        .values(
          part.map((d) => ({
            id: randomUUID(),
            subscription_id: d.subscriptionId,
            message_id: d.messageId,
            payload: d.payload,
            urgency: d.urgency,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
          })),
        )
        // A message is queued at most once per subscription, whatever re-runs.
        .onConflict((oc) => oc.columns(['subscription_id', 'message_id']).doNothing())
        .executeTakeFirst();
      inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  settleAndClaim(outcomes: DeliveryOutcomes, now: number, claim?: { leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    return this.run(async () => {
      const settle = !isEmptyOutcomes(outcomes);
      // Nothing to write and nothing due: a read, no transaction (on SQLite, no write lock).
      if (!settle && (!claim || !(await this.anyDue(this.db, now)))) return [];
      return this.write(async (trx) => {
        if (settle) await this.settle(trx, outcomes, now);
        return claim ? this.claim(trx, now, claim.leaseMs, claim.limit) : [];
      });
    });
  }

  private async anyDue(db: Kysely<Database>, now: number): Promise<boolean> {
    return (await db.selectFrom('push_deliveries').select('id').where('next_attempt_at', '<=', now).limit(1).executeTakeFirst()) !== undefined;
  }

  private async settle(trx: Transaction<Database>, outcomes: DeliveryOutcomes, now: number): Promise<void> {
    for (const part of chunks(outcomes.finished)) await trx.deleteFrom('push_deliveries').where('id', 'in', part).execute();
    for (const r of outcomes.retry) await trx.updateTable('push_deliveries').set({ next_attempt_at: r.at }).where('id', '=', r.id).execute();
    for (const part of chunks(outcomes.released)) {
      await trx.updateTable('push_deliveries').set({ next_attempt_at: now, attempts: sql<number>`attempts - 1` }).where('id', 'in', part).execute();
    }
    for (const part of chunks(outcomes.goneSubscriptions)) await trx.deleteFrom('push_subscriptions').where('id', 'in', part).execute();
  }

  private async claim(trx: Transaction<Database>, now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = await trx
      .updateTable('push_deliveries')
      .set({ next_attempt_at: now + leaseMs, attempts: sql<number>`attempts + 1` })
      .where('id', 'in', (eb) => {
        let due = eb.selectFrom('push_deliveries').select('id').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
        // Rows another node is claiming right now are passed over, not waited for.
        if (this.dialect === 'postgres') due = due.forUpdate().skipLocked();
        return due;
      })
      .returning(['id', 'subscription_id', 'message_id', 'payload', 'urgency', 'attempts', 'created_at'])
      .execute();
    if (rows.length === 0) return [];
    const subs = new Map<string, ClaimedDelivery['subscription']>();
    for (const part of chunks([...new Set(rows.map((r) => r.subscription_id))])) {
      for (const s of await trx.selectFrom('push_subscriptions').select(['id', 'endpoint', 'p256dh', 'auth']).where('id', 'in', part).execute()) subs.set(s.id, s);
    }
    return rows.flatMap((r) => {
      const subscription = subs.get(r.subscription_id);
      if (!subscription) return [];
      return [{ id: r.id, messageId: r.message_id, payload: r.payload, urgency: r.urgency, attempts: Number(r.attempts), createdAt: Number(r.created_at), subscription }];
    });
  }

  countDeliveries(): Promise<number> {
    return this.run(async () => {
      const r = await this.db.selectFrom('push_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    });
  }
}
