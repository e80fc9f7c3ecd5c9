/**
 * RELIABILITY F1 on the embedded default: `kill -9` of the server (the built CLI, SQLite, one
 * process) while webhook posts are in flight, then a restart on the same DATA_DIR, three times over.
 * Every post answered 200 is in the database with its content; posts cut off without an answer
 * are stored whole or not at all, never twice; each room's seqs stay 1..n without a gap; the file
 * passes SQLite's integrity_check; the restarted server stores the next post.
 *
 * The kill comes when a set number of posts has been answered (not after a time), with about 16
 * more in flight. A kill -9 leaves the kernel's page cache, so this proves that no 200 is sent
 * before its commit; power loss is synchronous=FULL's part (RELIABILITY F16, not run here).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '../test-support/backends.js';
import { waitForChildServer } from '../test-support/child-server.js';
import { freePort } from '../test-support/net.js';
import { call, createRoom, setupAdmin } from '../test-support/server.js';
import { repoRoot } from '../test-support/shared-dir.js';

const bin = join(repoRoot, 'dist/cli/main.js');
const ROOMS = 2;
const HOOKS_PER_ROOM = 4;
const POSTERS = 16;

describe('kill -9 under webhook load, SQLite (RELIABILITY F1)', { timeout: 180_000 }, () => {
  const dataDir = tempDir('carillon-crash-');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function serve(port: number): Promise<ChildProcess> {
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        LOG_LEVEL: 'warn',
        // The posts of this test, not the rate limit, are what is measured.
        WEBHOOK_RATE_PER_SECOND: '1000000',
        WEBHOOK_BURST: '1000000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForChildServer(`http://127.0.0.1:${port}/readyz`, child);
    return child;
  }

  test('every 200 survives, nothing is stored twice or half, seqs stay gap-free, the file is intact; three kills', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let child = await serve(port);
    const admin = await setupAdmin(base);
    const hooks: { roomId: string; path: string }[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const roomId = await createRoom(base, admin, `Crash ${r}`);
      for (let h = 0; h < HOOKS_PER_ROOM; h++) {
        const made = await call(base, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: `Hook ${h}` } });
        assert.equal(made.status, 201, made.text);
        const url = new URL(made.body.url);
        hooks.push({ roomId, path: url.pathname + url.search });
      }
    }

    const acked = new Map<string, { content: string; roomId: string }>();
    const cutOff: string[] = [];
    let n = 0;
    try {
      for (let round = 1; round <= 3; round++) {
        const killAt = acked.size + 150 + round * 50;
        let killed = false;
        const poster = async (p: number) => {
          while (!killed) {
            const hook = hooks[(p + n) % hooks.length]!;
            const content = `round ${round} post ${n++}`;
            let res: Response;
            try {
              res = await fetch(base + hook.path, { method: 'POST', body: JSON.stringify({ Content: content }) });
            } catch {
              cutOff.push(content);
              return;
            }
            const body = (await res.json().catch(() => null)) as { MessageId?: string } | null;
            if (res.status !== 200 || !body?.MessageId) {
              // Only a cut connection or the server's own 503 (it may be shutting its store) is acceptable.
              assert.ok(killed, `answered ${res.status} before the kill`);
              cutOff.push(content);
              return;
            }
            acked.set(body.MessageId, { content, roomId: hook.roomId });
            if (!killed && acked.size >= killAt) {
              killed = true;
              child.kill('SIGKILL');
            }
          }
        };
        await Promise.all(Array.from({ length: POSTERS }, (_, p) => poster(p)));
        assert.ok(killed);
        await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
        child = await serve(port);
        const next = await fetch(base + hooks[0]!.path, { method: 'POST', body: JSON.stringify({ Content: `after kill ${round}` }) });
        const text = await next.text();
        assert.equal(next.status, 200, text);
        const { MessageId } = JSON.parse(text) as { MessageId: string };
        acked.set(MessageId, { content: `after kill ${round}`, roomId: hooks[0]!.roomId });
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    }

    const db = new BetterSqlite3(join(dataDir, 'carillon.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const rows = db.prepare('select id, room_id, seq, content from messages').all() as { id: string; room_id: string; seq: number; content: string }[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      const lost = [...acked].filter(([id, a]) => byId.get(id)?.content !== a.content || byId.get(id)?.room_id !== a.roomId);
      assert.deepEqual(lost, [], 'every post answered 200 is stored, with its content, in its room');
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.content, (counts.get(r.content) ?? 0) + 1);
      assert.deepEqual([...counts].filter(([, c]) => c > 1), [], 'no post is stored twice');
      for (const content of cutOff) assert.ok((counts.get(content) ?? 0) <= 1);
      for (let r = 0; r < ROOMS; r++) {
        const roomId = hooks[r * HOOKS_PER_ROOM]!.roomId;
        const seqs = rows.filter((m) => m.room_id === roomId).map((m) => Number(m.seq)).sort((a, b) => a - b);
        assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `room ${r}: seqs 1..${seqs.length}`);
      }
      assert.ok(acked.size >= 3 * 150, `posts answered: ${acked.size}`);
      assert.ok(cutOff.length > 0, 'some posts were in flight at the kills');
    } finally {
      db.close();
    }
  });
});
