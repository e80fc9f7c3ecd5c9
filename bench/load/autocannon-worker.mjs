// The load generator, run as its own process (pinned to another core where taskset exists):
// autocannon at N connections spread over the given URLs; prints one JSON result line.
// With `idsFile`, the MessageId of every 200 is written there (one a line) so the bench can check
// that each acknowledged message is in the database.
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

const { urls, connections, duration, body, idsFile } = JSON.parse(process.argv[2]);
const acked = [];
const first = new URL(urls[0]);
let i = 0;
const result = await autocannon({
  url: first.origin,
  connections,
  duration,
  pipelining: 1,
  // Each request goes to the next webhook URL, so 50 connections spread over 50 webhooks.
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        const u = new URL(urls[i++ % urls.length]);
        return { ...req, path: u.pathname + u.search, body: JSON.stringify({ Content: `${body} #${i}` }) };
      },
      onResponse: (status, resBody) => {
        if (status === 200 && idsFile) acked.push(JSON.parse(resBody).MessageId);
      },
    },
  ],
});
if (idsFile) writeFileSync(idsFile, acked.join('\n'));
process.stdout.write(
  `${JSON.stringify({
    ok: result['2xx'],
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  })}\n`,
);
