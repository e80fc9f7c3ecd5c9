/**
 * SQLite's message appends run in a worker thread with their own connection (dialects/
 * sqlite-appender.ts). What that must not change: the main connection's transactions still succeed
 * while the worker commits, a dead worker loses no acknowledged message and is replaced, and a
 * closed store refuses appends instead of hanging.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { type BackendInstance, openBackend, tempDir } from '../../test-support/backends.js';
import { openSqlite } from './dialects/sqlite.js';
import { migrateToLatest } from './migrations.js';
import type { KyselyStore } from './kysely-store.js';
import { type MessageRecord, StoreUnavailableError, type UserRecord } from './types.js';

const user = (alias: string): UserRecord => ({
  id: randomUUID(),
  email: `${alias}@example.com`,
  alias,
  displayName: alias,
  passwordHash: 'scrypt$x',
  isSystemAdmin: false,
  createdAt: 1000,
});

const draft = (roomId: string, content: string) => ({
  id: randomUUID(),
  roomId,
  sender: { type: 'webhook' as const, id: 'w', name: 'Bot' },
  content,
  html: content,
  mentions: { all: false, present: false, userIds: [] as string[] },
  createdAt: 5000,
});

/** The appender's current worker thread (private; reached into for the crash test only). */
const workerOf = (b: BackendInstance): Worker | null => (b.store as unknown as { appender: { worker: Worker | null } }).appender.worker;

describe('SQLite appends in a worker thread', () => {
  let b: BackendInstance;
  let owner: UserRecord;
  before(async () => {
    b = await openBackend('sqlite');
    assert.ok((b.store as KyselyStore).dialect === 'sqlite');
    owner = await b.store.createUser(user('owner'));
  });
  after(() => b.cleanup());

  test('appends and the main connection\'s write transactions interleave: all succeed, seqs gap-free', async () => {
    const room = await b.store.createRoom({ id: randomUUID(), name: 'R', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
    const members = await Promise.all(Array.from({ length: 40 }, (_, i) => b.store.createUser(user(`m${i}`))));
    // 400 appends in bursts, while the main connection adds and removes members, creates rooms and
    // renames webhooks: read-then-write transactions that would fail at once (SQLITE_BUSY_SNAPSHOT)
    // if they took the write lock only at their first write.
    const appends: Promise<MessageRecord>[] = [];
    const admin: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 10; j++) appends.push(b.store.appendMessage(draft(room.id, `m${i}.${j}`)));
      admin.push(b.store.addMember(room.id, members[i]!.id, 'member', 2).then(() => b.store.setMemberRole(room.id, members[i]!.id, 'administrator')));
      if (i % 4 === 0) admin.push(b.store.createRoom({ id: randomUUID(), name: `side ${i}`, createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1));
      await new Promise((r) => setImmediate(r));
    }
    const stored = await Promise.all(appends);
    await Promise.all(admin);
    assert.deepEqual(stored.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: 400 }, (_, i) => i + 1));
    const listed = await b.store.listMessages(room.id, { after: 0, limit: 1000 });
    assert.equal(listed.length, 400);
    assert.equal((await b.store.listMembers(room.id)).length, 41);
  });

  test('a worker that dies fails its batch as unavailable (503), and the next append gets a new worker and the next seq', { timeout: 60_000 }, async (t) => {
    const room = await b.store.createRoom({ id: randomUUID(), name: 'Crash', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
    assert.equal((await b.store.appendMessage(draft(room.id, 'before'))).seq, 1);
    const worker = workerOf(b);
    assert.ok(worker, 'the worker is running');
    // Terminate it with a batch in flight: whether that batch committed is unknown to the caller.
    const inFlight = b.store.appendMessage(draft(room.id, 'in flight'));
    // The appender unrefs an idle worker: with the batch already answered, nothing here would keep
    // the event loop alive while a worker exits and the next one starts (a server's socket would).
    const keepAlive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(keepAlive));
    await worker.terminate();
    const outcome = await inFlight.then(
      (m) => m,
      (e: unknown) => e,
    );
    if (outcome instanceof Error) assert.ok(outcome instanceof StoreUnavailableError, String(outcome));
    const after = await b.store.appendMessage(draft(room.id, 'after'));
    assert.notEqual(workerOf(b), worker, 'a new worker');
    // Gap-free whatever happened to the batch in flight: it committed whole (seq 2) or not at all.
    const listed = await b.store.listMessages(room.id, { after: 0, limit: 10 });
    assert.deepEqual(listed.map((m) => m.seq), Array.from({ length: listed.length }, (_, i) => i + 1));
    assert.equal(after.seq, listed.length);
    if (!(outcome instanceof Error)) assert.equal((outcome as MessageRecord).seq, 2, 'answered, so stored');
  });

  test('the main connection takes the write lock at BEGIN: a read-then-write transaction survives a commit by the worker\'s connection', async () => {
    const dir = tempDir();
    const { db, file } = openSqlite(dir);
    await migrateToLatest(db);
    // Another connection to the same file, as the worker has; no waiting, so a held lock shows at once.
    const other = new BetterSqlite3(file);
    other.pragma('busy_timeout = 0');
    const insertFlag = (conn: BetterSqlite3.Database, name: string) => conn.prepare('insert into instance_flags (name, value, created_at) values (?, ?, ?)').run(name, 'x', 1);
    try {
      await db.transaction().execute(async (trx) => {
        await trx.selectFrom('instance_flags').selectAll().execute();
        // With a deferred BEGIN this commit would succeed, and the write below would then fail with
        // SQLITE_BUSY_SNAPSHOT (its snapshot is stale) without waiting. With BEGIN IMMEDIATE the
        // other connection is the one that waits (here: fails at once, busy_timeout 0).
        assert.throws(() => insertFlag(other, 'other'), (e: { code?: string }) => e.code === 'SQLITE_BUSY');
        await trx.insertInto('instance_flags').values({ name: 'main', value: 'x', created_at: 1 }).execute();
      });
      insertFlag(other, 'other, after');
      assert.deepEqual(other.prepare('select name from instance_flags order by name').pluck().all(), ['main', 'other, after']);
    } finally {
      other.close();
      await db.destroy();
    }
  });

  test('a delivery-log write that finds the write lock taken waits on timers, not in front of the messages: an append sent after it is stored first, then the log rows', async () => {
    const room = await b.store.createRoom({ id: randomUUID(), name: 'Busy', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
    const hook = await b.store.createWebhook({ id: randomUUID(), roomId: room.id, name: 'Log', generation: 1, createdBy: owner.id, createdAt: 1, deletedAt: null }, 10);
    const row = { id: randomUUID(), webhookId: hook.id, at: 2, status: 200, code: null, bytes: 5, latencyMs: 1, messageId: null, format: 'chime' as const };
    // Another connection holds the write lock (as a second process would).
    const other = new BetterSqlite3(join(b.dataDir, 'carillon.db'));
    other.exec('begin immediate');
    const order: string[] = [];
    let log: Promise<unknown>;
    let append: Promise<MessageRecord>;
    try {
      // Both reach the writer thread in this order. The log write fails at BEGIN and is tried again
      // after a timer; the append waits for the lock (busy_timeout), and the thread with it, so the
      // log's timer cannot run before the append has its lock and commits.
      log = b.store.webhookOps.recordDeliveries([row], [], 100).then(() => order.push('log'));
      append = b.store.appendMessage(draft(room.id, 'sent after the log write')).then((m) => (order.push('append'), m));
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(order, [], 'nothing is written while the lock is held');
    } finally {
      other.exec('commit');
      other.close();
    }
    await Promise.all([log, append]);
    assert.deepEqual(order, ['append', 'log']);
    assert.equal((await append).seq, 1);
    assert.deepEqual((await b.store.webhookOps.listDeliveries(hook.id, 10)).map((d) => d.id), [row.id]);
  });

  test('after close, an append is refused as unavailable instead of waiting forever', async () => {
    const other = await openBackend('sqlite');
    const o = await other.store.createUser(user('closer'));
    const room = await other.store.createRoom({ id: randomUUID(), name: 'C', createdBy: o.id, createdAt: 1, lastSeq: 0 }, 1);
    assert.equal((await other.store.appendMessage(draft(room.id, 'one'))).seq, 1);
    await other.cleanup();
    await assert.rejects(other.store.appendMessage(draft(room.id, 'late')), StoreUnavailableError);
  });
});
