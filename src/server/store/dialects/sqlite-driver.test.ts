/**
 * The main thread's SQLite connections wait for a write lock held elsewhere on timers, with the
 * connection free for other queries meanwhile (sqlite-driver.ts): what that must keep right.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '../../../test-support/backends.js';
import { sql } from '../kysely.js';
import { migrateToLatest } from '../migrations.js';
import { openSqlite } from './sqlite.js';

describe('SQLite: the write lock is waited for on timers', () => {
  let opened: ReturnType<typeof openSqlite>;
  let other: BetterSqlite3.Database;
  before(async () => {
    opened = openSqlite(tempDir());
    await migrateToLatest(opened.db);
    other = new BetterSqlite3(opened.file);
  });
  after(async () => {
    other.close();
    await opened.db.destroy();
  });

  const flags = () => opened.db.selectFrom('instance_flags').select('name').orderBy('name').execute().then((rows) => rows.map((r) => r.name));

  test('a write outside a transaction and a transaction wait while the lock is held; reads run meanwhile; then each is written once', async () => {
    other.exec('begin immediate');
    const done: string[] = [];
    let single: Promise<unknown>;
    let tx: Promise<unknown>;
    try {
      single = opened.db.insertInto('instance_flags').values({ name: 'single', value: 'x', created_at: 1 }).execute().then(() => done.push('single'));
      tx = opened.db
        .transaction()
        .execute(async (trx) => {
          // Inside the transaction the lock is held: the flag written first is seen.
          const seen = await trx.selectFrom('instance_flags').select('name').execute();
          await trx.insertInto('instance_flags').values({ name: `tx after ${seen.length}`, value: 'x', created_at: 1 }).execute();
        })
        .then(() => done.push('tx'));
      // Reads on the same connection are answered while both writes wait.
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await flags(), []);
        assert.equal((await sql<{ one: number }>`select 1 as one`.execute(opened.db)).rows[0]?.one, 1);
      }
      assert.deepEqual(done, [], 'nothing is written while the lock is held');
    } finally {
      other.exec('commit');
    }
    await Promise.all([single, tx]);
    // Whichever timer fires first after the release writes first (as with SQLite's busy handler).
    assert.deepEqual([...done].sort(), ['single', 'tx']);
    assert.deepEqual(await flags(), ['single', `tx after ${done[0] === 'single' ? 1 : 0}`]);
  });

  test('an error inside a transaction is not retried: it rolls back, and the connection goes on', async () => {
    await assert.rejects(
      opened.db.transaction().execute(async (trx) => {
        await trx.insertInto('instance_flags').values({ name: 'dup', value: 'x', created_at: 1 }).execute();
        await trx.insertInto('instance_flags').values({ name: 'dup', value: 'x', created_at: 1 }).execute();
      }),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY',
    );
    assert.equal((await flags()).includes('dup'), false);
    await opened.db.insertInto('instance_flags').values({ name: 'later', value: 'x', created_at: 1 }).execute();
    assert.equal((await flags()).includes('later'), true);
  });
});
