/**
 * `npm run bench`: every benchmark of issue 7 in one run, Carillon side by side with the bare
 * floors measured in the same run, printed as tables with ratios and targets, and written to
 * bench/results.json. `BENCH_QUICK=1` for a short run. Never asserted: machines are noisy.
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchColdStart } from './cold-start.js';
import { benchDurableCommit } from './disk.js';
import { type FanoutResult, CLOSED_LOOP_POSTERS, benchFanout } from './fanout.js';
import { type IngestResult, benchIngest } from './ingest.js';
import { LOAD_CORE, QUICK, SERVER_CORE, fmt, hasTaskset, repoRoot } from './lib.js';
import { NOTIFY_ALL_PER_ROOM, PUSH_BENCH_RATE, type PushBenchResult, benchPush } from './push.js';
import { benchRender } from './render.js';
import { LATE_MS, type ScaleResult, benchScale } from './scale.js';
import { type SearchBenchResult, benchSearch, searchTables } from './search.js';

function machine() {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let ulimitN = 'unknown';
  try {
    ulimitN = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim();
  } catch {
    /* not a POSIX shell */
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu: model,
    ramGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    ulimitN,
    pinning: hasTaskset ? `taskset: servers on core ${SERVER_CORE}, load generators and clients on core ${LOAD_CORE}` : 'no taskset: not pinned',
    loadAverage1mAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
}

const ms = (n: number) => fmt(n, 2);
const pct = (r: number) => `${fmt(r * 100, 1)} %`;
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');

async function step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const t = performance.now();
  process.stderr.write(`bench: ${name}…\n`);
  const r = await fn();
  process.stderr.write(`bench: ${name} done in ${fmt((performance.now() - t) / 1000, 1)} s (load average ${fmt(loadavg()[0]!, 2)})\n`);
  return r;
}

const info = machine();
const disk = await step('durable commit', () => benchDurableCommit());
const render = await step('render', () => benchRender());
const coldMessages = QUICK ? 100_000 : 1_000_000;
const cold = await step('cold start', () => benchColdStart(coldMessages));
const ingest: IngestResult = await step('ingest', () => benchIngest());
const fanout: FanoutResult = await step('fan-out', () => benchFanout());
const scale: ScaleResult = await step('scale and memory', () => benchScale());
const push: PushBenchResult = await step('web push', () => benchPush());
const search: SearchBenchResult = await step('search', () => benchSearch());
const loadAverage1mAtEnd = Number(loadavg()[0]!.toFixed(2));

const targets = [
  { target: 'ingest ≥ 25 % of bare http', figure: pct(ingest.ratio), ok: ingest.ratio >= 0.25 },
  { target: 'every 200 durable (lost acked = 0)', figure: String(ingest.lostAcked), ok: ingest.lostAcked === 0 },
  { target: 'fan-out ≥ 50 % of bare ws deliveries/s', figure: pct(fanout.deliveriesRatio), ok: fanout.deliveriesRatio >= 0.5 },
  { target: 'e2e p99 at 100 posts/s ≤ 2× bare ws p99', figure: `${fmt(fanout.e2eP99Ratio, 2)}×`, ok: fanout.e2eP99Ratio <= 2 },
  { target: 'scale: 0 lost deliveries', figure: String(scale.lost), ok: scale.lost === 0 && scale.acked > 0 },
  { target: '≤ 20 KiB RSS per idle WebSocket', figure: `${fmt(scale.memory.perSocketKiB, 1)} KiB`, ok: scale.memory.perSocketKiB <= 20 },
  { target: 'render p99 ≤ 2 ms typical', figure: `${fmt(render.typicalP99, 3)} ms`, ok: render.typicalP99 <= 2 },
  { target: 'render p99 ≤ 50 ms worst vector', figure: `${fmt(render.worstP99, 3)} ms`, ok: render.worstP99 <= 50 },
  { target: 'cold start < 1 s empty', figure: `${fmt(cold.emptyMs, 0)} ms`, ok: cold.emptyMs < 1000 },
];

/** A Markdown table (aligned, so it reads in a terminal too): the output pastes into BENCHMARKS.md as is. */
function mdTable(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const out: string[] = [];
const section = (title: string, rows: (string | number)[][]) => out.push(`\n### ${title}\n\n${mdTable(rows)}`);
out.push(`## Carillon benchmarks${QUICK ? ' (BENCH_QUICK: short runs)' : ''}, ${info.date}`);
out.push(`\n${info.nproc} × ${info.cpu}, ${info.ramGiB} GiB RAM, Node ${info.node}, ulimit -n ${info.ulimitN}; ${info.pinning}.`);
out.push(`Load average (1 min): ${info.loadAverage1mAtStart} at start, ${loadAverage1mAtEnd} at end. Carillon: SQLite synchronous=FULL (as shipped), LOG_LEVEL=warn, webhook rate limit raised.`);

section(`Ingest: ${ingest.connections} connections over ${ingest.webhooks} webhooks, ${ingest.seconds} s (autocannon)`, [
  ['', 'bare http', 'Carillon', 'ratio'],
  ['requests/s', fmt(ingest.bare.rps, 0), fmt(ingest.carillon.rps, 0), pct(ingest.ratio)],
  ['latency p50 ms', ingest.bare.p50, ingest.carillon.p50, ''],
  ['latency p99 ms', ingest.bare.p99, ingest.carillon.p99, ''],
  ['server CPU ms/request', fmt(ingest.bare.serverCpuMsPerRequest ?? NaN, 3), fmt(ingest.carillon.serverCpuMsPerRequest ?? NaN, 3), ''],
  ['non-2xx / errors', `${ingest.bare.non2xx} / ${ingest.bare.errors}`, `${ingest.carillon.non2xx} / ${ingest.carillon.errors}`, ''],
  ['acked (200) / stored / lost acked', '', `${ingest.acked} / ${ingest.stored} / ${ingest.lostAcked}`, ''],
]);

section(`Fan-out: one room, 50 members × 2 clients (100 sockets); open loop ${fanout.seconds} s at 100 posts/s, closed loop ${fanout.closedLoopSeconds} s with ${CLOSED_LOOP_POSTERS} posters`, [
  ['', 'bare ws', 'Carillon', 'ratio'],
  ['POST → frame p50 ms', ms(fanout.bare.e2e.p50), ms(fanout.carillon.e2e.p50), `${fmt(fanout.carillon.e2e.p50 / fanout.bare.e2e.p50, 2)}×`],
  ['POST → frame p99 ms', ms(fanout.bare.e2e.p99), ms(fanout.carillon.e2e.p99), `${fmt(fanout.e2eP99Ratio, 2)}×`],
  ['POST → frame max ms', ms(fanout.bare.e2e.max), ms(fanout.carillon.e2e.max), ''],
  ['deliveries (open loop) / lost', `${fanout.bare.e2e.n} / ${fanout.bare.lost}`, `${fanout.carillon.e2e.n} / ${fanout.carillon.lost}`, ''],
  ['closed loop deliveries/s', fmt(fanout.bare.deliveriesPerSecond, 0), fmt(fanout.carillon.deliveriesPerSecond, 0), pct(fanout.deliveriesRatio)],
  ['closed loop posts/s', fmt(fanout.bare.postsPerSecond, 0), fmt(fanout.carillon.postsPerSecond, 0), ''],
]);

section(`Scale: ${scale.sockets} sockets (100 rooms × 50 members × 2 clients, ${scale.workers} client processes), ${scale.rate} posts/s over 1,000 webhooks for ${scale.seconds} s`, [
  ['', 'Carillon'],
  ['sockets connected', scale.connected],
  ['posted / acked (200)', `${scale.posted} / ${scale.acked}`],
  ['acked posts/s sustained (target 1,000)', fmt(scale.ackedPerSecond, 0)],
  ['other answers', JSON.stringify(scale.statuses)],
  ['POST → frame p50 / p99 / max ms', `${ms(scale.e2e.p50)} / ${ms(scale.e2e.p99)} / ${ms(scale.e2e.max)}`],
  ['deliveries expected / received', `${scale.expectedDeliveries} / ${scale.e2e.n}`],
  ['lost deliveries', scale.lost],
  [`late deliveries (> ${LATE_MS} ms)`, scale.late],
  ['seq gaps / duplicates / sockets closed', `${scale.gaps} / ${scale.duplicates} / ${scale.closedSockets}`],
]);

section('Memory (server VmRSS)', [
  ['', 'KiB'],
  ['before any socket', scale.memory.baseRssKiB],
  [`${scale.connected} idle sockets`, scale.memory.idleRssKiB],
  ['per idle socket', fmt(scale.memory.perSocketKiB, 2)],
  ['max under the scale load', scale.memory.underLoadMaxRssKiB],
]);

const msOrNa = (n: number | null) => (n === null ? 'n/a' : ms(n));
section(`Web Push (issue 13): pushes to a loopback push service; webhook POST latency at ${PUSH_BENCH_RATE} posts/s (open loop, ${push.latency.seconds} s) with and without subscriptions`, [
  ['', 'without subscriptions', 'with subscriptions'],
  [`pushes/s (burst of ${push.throughput.posts} posts × 10 devices, all delivered: ${push.throughput.pushesReceived}/${push.throughput.pushesExpected})`, '', fmt(push.throughput.perSecond, 0)],
  ['outbox drained after the last post, ms', '', fmt(push.throughput.drainAfterLastPostMs, 0)],
  ['webhook POST p50 ms', msOrNa(push.latency.without.p50), msOrNa(push.latency.with.p50)],
  ['webhook POST p99 ms', msOrNa(push.latency.without.p99), msOrNa(push.latency.with.p99)],
  [`pushes during the run (${NOTIFY_ALL_PER_ROOM} 'all' members per room)`, '0', `${push.latency.with.pushesReceived} / ${push.latency.with.pushesExpected}`],
]);

for (const t of searchTables(search)) section(t.title, t.rows);

section('Durability floor: one SQLite commit, WAL + synchronous=FULL, on the bench temp dir', [
  ['p50 ms', 'p99 ms', 'max ms'],
  [ms(disk.p50), ms(disk.p99), ms(disk.max)],
]);

section('Render (per message, in the bench process)', render.rows);

section(`Cold start (spawn → /readyz 200, median of 3)`, [
  ['', 'ms'],
  ['empty database', fmt(cold.emptyMs, 0)],
  [`${coldMessages.toLocaleString('en-US')} messages`, fmt(cold.fullMs, 0)],
]);

section('Targets (issue 7)', [['target', 'figure', ''], ...targets.map((t) => [t.target, t.figure, met(t.ok)])]);

console.log(out.join('\n'));
writeFileSync(
  join(repoRoot, 'bench/results.json'),
  `${JSON.stringify({ machine: { ...info, loadAverage1mAtEnd }, quick: QUICK, ingest, fanout, scale, push, search, durableCommit: disk, render: { rows: render.rows, typicalP99: render.typicalP99, worstP99: render.worstP99 }, coldStart: { ...cold, messages: coldMessages }, targets }, null, 2)}\n`,
);
