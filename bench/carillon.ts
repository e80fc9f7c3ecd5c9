/**
 * Carillon under test: seeds users, rooms, memberships, sessions and webhooks through the Store
 * (no scrypt, no HTTP), then runs dist/cli/main.js as a child process pinned to the server core.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { hashSessionToken } from '../src/server/services/auth-service.js';
import { openSqlite } from '../src/server/store/dialects/sqlite.js';
import { translateSqliteError } from '../src/server/store/dialects/sqlite.js';
import { KyselyStore } from '../src/server/store/kysely-store.js';
import { migrateToLatest } from '../src/server/store/migrations.js';
import { deriveToken } from '../src/server/webhooks/tokens.js';
import { SERVER_CORE, freePort, repoRoot, rssKiB, spawnNode, stop, tempDir, waitForOk } from './lib.js';

/**
 * The build under test: dist/ by default. CARILLON_DIST=<dir> runs another build of the server (a
 * compiled copy inside the repository, so it finds node_modules) for before/after comparisons.
 */
export const CARILLON_DIST = process.env.CARILLON_DIST ? resolve(process.env.CARILLON_DIST) : join(repoRoot, 'dist');

/** The server secret of every bench run (SECRET), so the bench can derive webhook tokens itself. */
export const BENCH_SECRET = 'carillon-bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface SeededRoom {
  id: string;
  /** `/incomingwebhooks/{id}?token=…` (path and query; prefix the origin once the port is known). */
  webhookPaths: string[];
  /** One session token per member; each member's clients share it. */
  memberTokens: string[];
}

export interface SeedShape {
  rooms: number;
  membersPerRoom: number;
  webhooksPerRoom: number;
}

/**
 * Fills a fresh DATA_DIR through the Store. The seed connection runs with synchronous=OFF (about
 * 20,000 small commits for the scale shape would otherwise each wait for an fsync); the server
 * reopens the database with synchronous=FULL as shipped, so every measured write is durable.
 */
export async function seed(dataDir: string, shape: SeedShape): Promise<SeededRoom[]> {
  const { db, raw } = openSqlite(dataDir);
  await migrateToLatest(db);
  raw.pragma('synchronous = OFF');
  const store = new KyselyStore({ db, dialect: 'sqlite', translateError: translateSqliteError, onClose: () => db.destroy() });
  const secret = Buffer.from(BENCH_SECRET, 'utf8');
  const now = Date.now();
  const rooms: SeededRoom[] = [];
  try {
    let userNo = 0;
    for (let r = 0; r < shape.rooms; r++) {
      const userIds: string[] = [];
      const memberTokens: string[] = [];
      for (let m = 0; m < shape.membersPerRoom; m++) {
        const n = userNo++;
        const id = randomUUID();
        await store.createUser({ id, email: `user${n}@bench.example`, alias: `user${n}`, displayName: `User ${n}`, passwordHash: 'bench-no-password', isSystemAdmin: n === 0, createdAt: now });
        const token = randomBytes(32).toString('base64url');
        await store.createSession({ tokenHash: hashSessionToken(token), userId: id, createdAt: now, expiresAt: now + 24 * 3600_000 });
        userIds.push(id);
        memberTokens.push(token);
      }
      const roomId = randomUUID();
      // The first member creates the room (and administers it); the others join as members.
      await store.createRoom({ id: roomId, name: `bench room ${r}`, createdBy: userIds[0]!, createdAt: now, lastSeq: 0 }, now);
      for (const userId of userIds.slice(1)) await store.addMember(roomId, userId, 'member', now);
      const webhookPaths: string[] = [];
      for (let w = 0; w < shape.webhooksPerRoom; w++) {
        const id = randomUUID();
        await store.createWebhook({ id, roomId, name: `bench hook ${w}`, generation: 1, createdBy: userIds[0]!, createdAt: now, deletedAt: null }, 10);
        webhookPaths.push(`/incomingwebhooks/${id}?token=${deriveToken(secret, id, 1)}`);
      }
      rooms.push({ id: roomId, webhookPaths, memberTokens });
    }
  } finally {
    await store.close();
  }
  return rooms;
}

export interface CarillonProcess {
  child: ChildProcess;
  pid: number;
  origin: string;
  dataDir: string;
  /** The server's RSS in KiB now. */
  rss(): number;
  /** SIGTERM (graceful: sockets closed with 1012, in-flight requests finished), then wait for exit. */
  stop(): Promise<void>;
}

/**
 * Starts Carillon on `dataDir` with the bench's settings: LOG_LEVEL=warn (no access log), the
 * webhook rate limit raised out of the way, SQLite durable as shipped. BENCH_CPU_PROF=<dir> runs
 * it under `node --cpu-prof` (the profile is written when it exits). BENCH_NODE_ARGS="--flag …" adds
 * Node/V8 flags to the server's command line (e.g. `--max-semi-space-size=32`), for A/B runs.
 */
export async function startCarillon(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<CarillonProcess> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawnNode([...extra, ...profile, join(CARILLON_DIST, 'cli/main.js'), 'serve'], {
    core: SERVER_CORE,
    env: {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: origin,
      SECRET: BENCH_SECRET,
      LOG_LEVEL: 'warn',
      WEBHOOK_RATE_PER_SECOND: '1000000',
      WEBHOOK_BURST: '1000000',
      ...env,
    },
  });
  // Read stdout so a chatty server never blocks on a full pipe; its warnings are shown, one line each.
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of String(d).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        process.stderr.write(`[carillon] level ${entry.level}: ${entry.msg}${entry.err?.message ? ` (${entry.err.message})` : ''}\n`);
      } catch {
        process.stderr.write(`[carillon] ${line}\n`);
      }
    }
  });
  try {
    await waitForOk(`${origin}/readyz`);
  } catch (e) {
    await stop(child);
    throw e;
  }
  return { child, pid: child.pid!, origin, dataDir, rss: () => rssKiB(child.pid!), stop: () => stop(child) };
}

/** After the server stopped: how many of the acknowledged message ids are in the database. */
export function countStored(dataDir: string, ackedIds: Iterable<string>): { stored: number; acked: number; lostAcked: number } {
  const db = new BetterSqlite3(join(dataDir, 'carillon.db'), { readonly: true });
  try {
    const ids = new Set((db.prepare('select id from messages').pluck().all() as string[]));
    let acked = 0;
    let lostAcked = 0;
    for (const id of ackedIds) {
      acked++;
      if (!ids.has(id)) lostAcked++;
    }
    return { stored: ids.size, acked, lostAcked };
  } finally {
    db.close();
  }
}

/** A seeded DATA_DIR with a running Carillon; `close` stops it and deletes the directory. */
export async function withCarillon<T>(shape: SeedShape, fn: (server: CarillonProcess, rooms: SeededRoom[]) => Promise<T>): Promise<T> {
  const dataDir = tempDir('carillon-bench-');
  try {
    const rooms = await seed(dataDir, shape);
    const server = await startCarillon(dataDir);
    try {
      return await fn(server, rooms);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
