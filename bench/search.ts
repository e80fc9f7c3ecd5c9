/**
 * Full-text search (issue 14): GET /api/v1/search latency over a large message table, and what the
 * index costs the webhook ingest path.
 *
 * - Loads BENCH_SEARCH_MESSAGES messages (default 1,000,000; 100,000 with BENCH_QUICK=1) straight
 *   into a migrated SQLite database (better-sqlite3, 50,000-row transactions, synchronous=OFF for
 *   the load only; the FTS triggers index them as they go), and into PostgreSQL when
 *   CARILLON_BENCH_DATABASE_URL or CARILLON_TEST_DATABASE_URL is set (a fresh database, multi-row
 *   inserts of unnest() arrays; the generated tsvector column and its GIN index follow).
 * - The text is alert-like: templates (severity, metric, host, service, deploys, URLs) filled from
 *   a vocabulary of about 3,000 words drawn with a Zipf distribution, over 50 rooms and a year;
 *   the searching user is a member of 25 of the rooms.
 * - Then Carillon (dist/, as shipped) serves GET /api/v1/search and one client asks each query
 *   in turn, one at a time: p50/p95/p99 per query kind.
 * - Ingest: the webhook ingest load of bench/ingest.ts (quick length), on the same server build,
 *   with the SQLite FTS triggers and without them (dropped after seeding), alternated twice.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { hashSessionToken } from '../src/server/services/auth-service.js';
import { openStore } from '../src/server/store/open-store.js';
import { seed, startCarillon } from './carillon.js';
import { LOAD_CORE, QUICK, cpuMs, firstJsonLine, fmt, percentile, repoRoot, spawnNode, stop, tempDir } from './lib.js';

const MESSAGES = Number(process.env.BENCH_SEARCH_MESSAGES ?? (QUICK ? 100_000 : 1_000_000));
const ROOMS = 50;
const ITERATIONS = Number(process.env.BENCH_SEARCH_ITERATIONS ?? (QUICK ? 50 : 200));
const PG_URL = process.env.CARILLON_BENCH_DATABASE_URL ?? process.env.CARILLON_TEST_DATABASE_URL;
const YEAR = 365 * 86_400_000;

// ---- the corpus ----

/** A small deterministic PRNG (mulberry32), so every run loads the same text. */
function rng(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALERT_WORDS = (
  'alert warning critical error failed failure timeout latency cpu memory disk full usage load high low ' +
  'deploy deployed deployment rollback release build pipeline job queue worker scheduler backup restore ' +
  'database replica primary connection pool exhausted refused reset slow query index vacuum lock deadlock ' +
  'service api gateway proxy cache redis postgres kafka consumer lag partition broker cluster node pod ' +
  'container restart crash oom killed evicted throttled quota limit exceeded certificate expired expiring ' +
  'dns resolve network packet loss jitter bandwidth ingress egress firewall blocked unauthorized forbidden ' +
  'login user session token rotated secret vault config change rollout canary healthy unhealthy degraded ' +
  'recovered resolved acknowledged escalated incident outage maintenance window scheduled completed started ' +
  'finished success succeeded passed test coverage lint merge branch commit tag version upgrade downgrade'
).split(' ');

function vocabulary(size: number, random: () => number): string[] {
  const syllables = 'ka ri to ne mo sa lu vi da pe zo ga ti re ban dor fel min qua sor tek vol wen yar zul'.split(' ');
  const words = new Set(ALERT_WORDS);
  while (words.size < size) {
    const n = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += syllables[Math.floor(random() * syllables.length)];
    words.add(w);
  }
  return [...words];
}

/** Draws ranks 0..n-1 with probability ∝ 1/(rank+1) (Zipf, s = 1). */
function zipf(n: number, random: () => number): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let r = 1; r <= n; r++) cumulative.push((sum += 1 / r));
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Corpus {
  next(): string;
  /** Occurrences per word so far (in messages, counted once per message). */
  counts: Map<string, number>;
}

function corpus(): Corpus {
  const random = rng(14);
  const words = vocabulary(3000, random);
  const draw = zipf(words.length, random);
  const counts = new Map<string, number>();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const filler = (n: number) => Array.from({ length: n }, () => words[draw()]!).join(' ');
  const sev = ['CRITICAL', 'WARNING', 'INFO', 'RESOLVED'];
  const services = ['billing-api', 'checkout', 'search', 'auth-service', 'web', 'ingest-worker', 'reports', 'notifier'];
  const envs = ['prod', 'staging', 'dev'];
  const host = () => `${pick(['web', 'db', 'cache', 'worker', 'lb'])}-${String(Math.floor(random() * 40)).padStart(2, '0')}.${pick(envs)}.example.com`;
  const templates: (() => string)[] = [
    () => `[${pick(sev)}] ${pick(['CPU', 'Memory', 'Disk', 'Load'])} at ${Math.floor(random() * 100)}% on ${host()}: ${filler(4)}`,
    () => `Deploy ${pick(['finished', 'started', 'failed', 'rolled back'])}: build ${Math.floor(random() * 100000)} of ${pick(services)} to ${pick(envs)} ${filler(3)}`,
    () => `${pick(services)}: ${filler(6)} https://ci.example.com/builds/${Math.floor(random() * 100000)}`,
    () => `Disk full on ${host()} (${90 + Math.floor(random() * 10)}%) ${filler(3)}`,
    () => `${filler(8)}`,
    () => `Backup ${pick(['completed', 'failed'])} for ${pick(services)} in ${Math.floor(random() * 3600)} s; ${filler(5)}`,
  ];
  return {
    counts,
    next() {
      const text = pick(templates)();
      for (const w of new Set(text.toLowerCase().split(/[^a-z0-9]+/))) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
      return text;
    },
  };
}

interface Loaded {
  userId: string;
  token: string;
  memberRooms: string[];
  /** The word to use as "rare": the vocabulary word whose count is nearest 50. */
  rare: string;
  rareCount: number;
  commonCount: number;
  loadSeconds: number;
}

const COMMON = 'deploy';
const MENTIONS = JSON.stringify({ all: false, present: false, userIds: [] });

/** Users, rooms, memberships and a session, through SQL (both databases take the same statements). */
function setupRows(now: number) {
  const userId = randomUUID();
  const token = randomBytes(32).toString('base64url');
  const rooms = Array.from({ length: ROOMS }, () => randomUUID());
  return { userId, token, rooms, memberRooms: rooms.filter((_, i) => i % 2 === 0), now };
}

export async function loadSqlite(dataDir: string): Promise<Loaded> {
  const store = await openStore({ dataDir });
  await store.close();
  const db = new BetterSqlite3(join(dataDir, 'carillon.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const t0 = performance.now();
  const now = Date.now();
  const s = setupRows(now);
  db.prepare('insert into users (id,email,alias,display_name,password_hash,is_system_admin,created_at) values (?,?,?,?,?,0,?)').run(s.userId, 'searcher@bench.example', 'searcher', 'Searcher', 'x', now);
  db.prepare('insert into sessions (token_hash,user_id,created_at,expires_at) values (?,?,?,?)').run(hashSessionToken(s.token), s.userId, now, now + 86_400_000);
  for (const [i, r] of s.rooms.entries()) {
    db.prepare('insert into rooms (id,name,created_by,created_at,last_seq) values (?,?,?,?,0)').run(r, `bench room ${i}`, s.userId, now - YEAR);
    if (s.memberRooms.includes(r)) db.prepare("insert into room_members (room_id,user_id,role,joined_at) values (?,?,'member',?)").run(r, s.userId, now);
  }
  const c = corpus();
  const insert = db.prepare('insert into messages (id,room_id,seq,sender_type,sender_id,sender_name,content,html,mentions,created_at) values (?,?,?,?,?,?,?,?,?,?)');
  const seqs = new Map<string, number>();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const room = s.rooms[i % ROOMS]!;
      const seq = (seqs.get(room) ?? 0) + 1;
      seqs.set(room, seq);
      const content = c.next();
      // A year of messages, oldest first, evenly spread (a few share a millisecond).
      insert.run(randomUUID(), room, seq, 'webhook', `hook-${i % ROOMS}`, 'CI', content, `<p>${content}</p>`, MENTIONS, now - YEAR + Math.floor((i * YEAR) / MESSAGES));
    }
  });
  for (let i = 0; i < MESSAGES; i += 50_000) {
    batch(i, Math.min(MESSAGES, i + 50_000));
    if (i % 200_000 === 0) process.stderr.write(`bench search: sqlite ${i}/${MESSAGES}\n`);
  }
  for (const [room, seq] of seqs) db.prepare('update rooms set last_seq = ? where id = ?').run(seq, room);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('analyze');
  db.close();
  return { ...pickRare(c), userId: s.userId, token: s.token, memberRooms: s.memberRooms, loadSeconds: (performance.now() - t0) / 1000 };
}

function pickRare(c: Corpus): { rare: string; rareCount: number; commonCount: number } {
  let rare = '';
  let best = Infinity;
  for (const [w, n] of c.counts) {
    if (/\d/.test(w) || w.length < 6) continue;
    if (Math.abs(n - 50) < best) {
      best = Math.abs(n - 50);
      rare = w;
    }
  }
  return { rare, rareCount: c.counts.get(rare) ?? 0, commonCount: c.counts.get(COMMON) ?? 0 };
}

async function createPgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `carillon_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function loadPostgres(url: string): Promise<Loaded> {
  const scratch = tempDir('carillon-bench-pg-');
  const store = await openStore({ dataDir: scratch, databaseUrl: url });
  await store.close();
  rmSync(scratch, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = performance.now();
    const now = Date.now();
    const s = setupRows(now);
    await client.query('insert into users (id,email,alias,display_name,password_hash,is_system_admin,created_at) values ($1,$2,$3,$4,$5,0,$6)', [s.userId, 'searcher@bench.example', 'searcher', 'Searcher', 'x', now]);
    await client.query('insert into sessions (token_hash,user_id,created_at,expires_at) values ($1,$2,$3,$4)', [hashSessionToken(s.token), s.userId, now, now + 86_400_000]);
    for (const [i, r] of s.rooms.entries()) {
      await client.query('insert into rooms (id,name,created_by,created_at,last_seq) values ($1,$2,$3,$4,0)', [r, `bench room ${i}`, s.userId, now - YEAR]);
      if (s.memberRooms.includes(r)) await client.query("insert into room_members (room_id,user_id,role,joined_at) values ($1,$2,'member',$3)", [r, s.userId, now]);
    }
    const c = corpus();
    const seqs = new Map<string, number>();
    const BATCH = 10_000;
    for (let i = 0; i < MESSAGES; i += BATCH) {
      const cols: unknown[][] = [[], [], [], [], [], [], [], []];
      for (let j = i; j < Math.min(MESSAGES, i + BATCH); j++) {
        const room = s.rooms[j % ROOMS]!;
        const seq = (seqs.get(room) ?? 0) + 1;
        seqs.set(room, seq);
        const content = c.next();
        const row = [randomUUID(), room, seq, `hook-${j % ROOMS}`, content, `<p>${content}</p>`, now - YEAR + Math.floor((j * YEAR) / MESSAGES), MENTIONS];
        row.forEach((v, k) => cols[k]!.push(v));
      }
      await client.query(
        `insert into messages (id,room_id,seq,sender_type,sender_id,sender_name,content,html,mentions,created_at)
         select id, room_id, seq, 'webhook', sender_id, 'CI', content, html, mentions, created_at
         from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
           as t(id, room_id, seq, sender_id, content, html, created_at, mentions)`,
        cols,
      );
      if (i % 200_000 === 0) process.stderr.write(`bench search: postgres ${i}/${MESSAGES}\n`);
    }
    for (const [room, seq] of seqs) await client.query('update rooms set last_seq = $1 where id = $2', [seq, room]);
    await client.query('vacuum analyze');
    return { ...pickRare(c), userId: s.userId, token: s.token, memberRooms: s.memberRooms, loadSeconds: (performance.now() - t0) / 1000 };
  } finally {
    await client.end();
  }
}

// ---- the queries ----

export interface SearchLatency {
  query: string;
  kind: string;
  results: number;
  p50: number;
  p95: number;
  p99: number;
}

function queries(l: Loaded): { kind: string; params: Record<string, string> }[] {
  return [
    { kind: `common word (in ${fmt((100 * l.commonCount) / MESSAGES, 1)} % of messages)`, params: { q: COMMON } },
    { kind: `rare word (in ${l.rareCount} messages)`, params: { q: l.rare } },
    { kind: 'phrase', params: { q: '"disk full"' } },
    { kind: 'prefix', params: { q: 'deplo*' } },
    { kind: 'two words', params: { q: 'backup failed' } },
    { kind: 'filtered: common word, one room, last 30 days', params: { q: COMMON, roomId: l.memberRooms[3]!, since: String(Date.now() - 30 * 86_400_000) } },
    { kind: 'no match', params: { q: 'zzzqqqxxx' } },
  ];
}

async function measureQueries(origin: string, l: Loaded): Promise<SearchLatency[]> {
  const out: SearchLatency[] = [];
  for (const { kind, params } of queries(l)) {
    const url = `${origin}/api/v1/search?${new URLSearchParams(params)}`;
    const get = async () => {
      const t = performance.now();
      const r = await fetch(url, { headers: { authorization: `Bearer ${l.token}` } });
      const body = (await r.json()) as { results?: unknown[] };
      if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, n: body.results?.length ?? 0 };
    };
    for (let i = 0; i < 5; i++) await get(); // warm-up (compilation, caches)
    const samples: number[] = [];
    let n = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const r = await get();
      samples.push(r.ms);
      n = r.n;
    }
    samples.sort((a, b) => a - b);
    out.push({ query: params.q!, kind, results: n, p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) });
  }
  return out;
}

// ---- ingest with and without the FTS triggers ----

interface IngestRun {
  fts: boolean;
  rps: number;
  cpuMsPerRequest: number;
  p50: number;
  p99: number;
}

export async function ingestOnce(fts: boolean, seconds: number): Promise<IngestRun> {
  const dataDir = tempDir('carillon-bench-search-ingest-');
  try {
    const rooms = await seed(dataDir, { rooms: 5, membersPerRoom: 10, webhooksPerRoom: 10 });
    if (!fts) {
      const db = new BetterSqlite3(join(dataDir, 'carillon.db'));
      for (const t of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update']) db.exec(`drop trigger ${t}`);
      db.close();
    }
    const server = await startCarillon(dataDir);
    try {
      const urls = rooms.flatMap((r) => r.webhookPaths).map((p) => server.origin + p);
      const run = async (duration: number) => {
        const child = spawnNode([join(repoRoot, 'bench/load/autocannon-worker.mjs'), JSON.stringify({ urls, connections: 50, duration, body: 'ingest bench: deploy finished, build 1234 is live on web-03.prod.example.com' })], { core: LOAD_CORE });
        try {
          return await firstJsonLine<{ rps: number; total: number; p50: number; p99: number }>(child);
        } finally {
          await stop(child);
        }
      };
      await run(1);
      const before = cpuMs(server.pid);
      const r = await run(seconds);
      return { fts, rps: r.rps, cpuMsPerRequest: (cpuMs(server.pid) - before) / r.total, p50: r.p50, p99: r.p99 };
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface SearchBenchResult {
  messages: number;
  rooms: number;
  memberRooms: number;
  iterations: number;
  sqlite: { loadSeconds: number; fileMiB: number; latency: SearchLatency[] };
  postgres: { loadSeconds: number; latency: SearchLatency[] } | null;
  ingest: IngestRun[];
}

export async function benchSearch(): Promise<SearchBenchResult> {
  const dataDir = tempDir('carillon-bench-search-');
  let sqliteResult: SearchBenchResult['sqlite'];
  try {
    process.stderr.write(`bench search: loading ${MESSAGES} messages into SQLite…\n`);
    const l = await loadSqlite(dataDir);
    const fileMiB = statSync(join(dataDir, 'carillon.db')).size / 2 ** 20;
    const server = await startCarillon(dataDir);
    try {
      sqliteResult = { loadSeconds: l.loadSeconds, fileMiB, latency: await measureQueries(server.origin, l) };
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  let postgresResult: SearchBenchResult['postgres'] = null;
  if (PG_URL) {
    const db = await createPgDatabase(PG_URL);
    const pgDir = tempDir('carillon-bench-search-pg-');
    try {
      process.stderr.write(`bench search: loading ${MESSAGES} messages into PostgreSQL…\n`);
      const l = await loadPostgres(db.url);
      const server = await startCarillon(pgDir, { DATABASE_URL: db.url });
      try {
        postgresResult = { loadSeconds: l.loadSeconds, latency: await measureQueries(server.origin, l) };
      } finally {
        await server.stop();
      }
    } finally {
      await db.drop();
      rmSync(pgDir, { recursive: true, force: true });
    }
  } else {
    process.stderr.write('bench search: no CARILLON_BENCH_DATABASE_URL / CARILLON_TEST_DATABASE_URL: PostgreSQL skipped\n');
  }

  const ingest: IngestRun[] = [];
  const seconds = QUICK ? 3 : 5;
  for (let round = 0; round < 2; round++) {
    for (const fts of [true, false]) ingest.push(await ingestOnce(fts, seconds));
  }
  return { messages: MESSAGES, rooms: ROOMS, memberRooms: ROOMS / 2, iterations: ITERATIONS, sqlite: sqliteResult, postgres: postgresResult, ingest };
}

export function searchTables(r: SearchBenchResult): { title: string; rows: (string | number)[][] }[] {
  const latencyRows = (name: string, latency: SearchLatency[]) => [
    ['query', 'q', 'results (page of 20)', `${name} p50 ms`, 'p95 ms', 'p99 ms'],
    ...latency.map((x) => [x.kind, x.query, x.results, fmt(x.p50, 1), fmt(x.p95, 1), fmt(x.p99, 1)]),
  ];
  const tables = [
    {
      title: `Search: ${r.messages.toLocaleString('en-US')} messages in ${r.rooms} rooms, member of ${r.memberRooms}; SQLite (loaded in ${fmt(r.sqlite.loadSeconds, 0)} s, ${fmt(r.sqlite.fileMiB, 0)} MiB); ${r.iterations} sequential requests each`,
      rows: latencyRows('SQLite', r.sqlite.latency),
    },
  ];
  if (r.postgres) {
    tables.push({ title: `Search: the same on PostgreSQL (loaded in ${fmt(r.postgres.loadSeconds, 0)} s)`, rows: latencyRows('PostgreSQL', r.postgres.latency) });
  }
  const mean = (fts: boolean, k: 'rps' | 'cpuMsPerRequest') => {
    const xs = r.ingest.filter((x) => x.fts === fts).map((x) => x[k]);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  tables.push({
    title: 'Webhook ingest (SQLite), with and without the FTS triggers: 50 connections, alternated runs',
    rows: [
      ['run', 'FTS triggers', 'requests/s', 'server CPU ms/request', 'p50 ms', 'p99 ms'],
      ...r.ingest.map((x, i) => [i + 1, x.fts ? 'yes' : 'no', fmt(x.rps, 0), fmt(x.cpuMsPerRequest, 3), x.p50, x.p99]),
      ['mean', 'yes', fmt(mean(true, 'rps'), 0), fmt(mean(true, 'cpuMsPerRequest'), 3), '', ''],
      ['mean', 'no', fmt(mean(false, 'rps'), 0), fmt(mean(false, 'cpuMsPerRequest'), 3), '', ''],
    ],
  });
  return tables;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchSearch();
  for (const t of searchTables(r)) {
    console.log(`\n### ${t.title}\n`);
    const widths = t.rows[0]!.map((_, i) => Math.max(3, ...t.rows.map((row) => String(row[i]).length)));
    const line = (row: (string | number)[]) => `| ${row.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
    console.log([line(t.rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...t.rows.slice(1).map(line)].join('\n'));
  }
}
