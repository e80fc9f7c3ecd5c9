// Webhook posters, run as their own process (pinned to the load core); prints one JSON line.
// Usage: post-worker.mjs <options.json>
//   open loop:   {urls, rate, seconds}        `rate` posts/s in total, round robin over the URLs
//   closed loop: {urls, concurrency, seconds} `concurrency` posters, each posting again on its answer
// Each Content carries `t=<process.hrtime.bigint()>` for the stream clients' POST → frame latency.
// Bounded: no new post after `seconds`, and the run ends at most 10 s later.
import { readFileSync } from 'node:fs';
import http from 'node:http';

// The options file (a thousand webhook URLs are more than one command-line argument may hold).
const { urls, rate, concurrency, seconds } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency ?? 64 });
const targets = urls.map((u) => new URL(u));
const statuses = {};
const acked = [];
const postLatencies = [];
const start = performance.now();
let sent = 0;
let inflight = 0;
/** ms from the start to the last answer: sustained rate = ok / lastAnswerAt. */
let lastAnswerAt = 0;
let errors = 0;

function post(i) {
  const target = targets[i % targets.length];
  const body = JSON.stringify({ Content: `bench #${i} t=${process.hrtime.bigint()}` });
  const t0 = performance.now();
  inflight++;
  return new Promise((resolve) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          inflight--;
          postLatencies.push(performance.now() - t0);
          lastAnswerAt = performance.now() - start;
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.statusCode === 200) {
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (answer.MessageId) acked.push([answer.MessageId, answer.RoomId]);
          }
          resolve();
        });
      },
    );
    req.on('error', () => {
      inflight--;
      errors++;
      resolve();
    });
    req.end(body);
  });
}

const end = start + seconds * 1000;
if (rate) {
  // Open loop: every millisecond or so, send what the schedule says is due (catching up after a late timer).
  const pending = [];
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < due && inflight < 2000) pending.push(post(sent++));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 10_000))]);
} else {
  const lane = async () => {
    while (performance.now() < end) await post(sent++);
  };
  await Promise.race([Promise.all(Array.from({ length: concurrency }, lane)), new Promise((r) => setTimeout(r, seconds * 1000 + 10_000))]);
}
const elapsed = (performance.now() - start) / 1000;
postLatencies.sort((a, b) => a - b);
const pct = (p) => postLatencies[Math.min(postLatencies.length - 1, Math.max(0, Math.ceil((p / 100) * postLatencies.length) - 1))] ?? null;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ sent, answered: postLatencies.length, seconds: elapsed, lastAnswerS: lastAnswerAt / 1000, statuses, errors, ok: statuses[200] ?? 0, acked, postP50: pct(50), postP99: pct(99) })}\n`,
  () => process.exit(0),
);
