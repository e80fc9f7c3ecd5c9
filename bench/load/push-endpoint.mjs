// A loopback Web Push service for `npm run bench` (bench/push.ts), run as its own process on the
// load core: answers every push 201 at once, like a healthy push service, and counts them. It does
// not decrypt (the tests do: src/test-support/push-endpoint.ts). Prints {port}; GET /stats gives
// {count, firstAt, lastAt} (epoch ms, sub-millisecond) and POST /reset starts a new window.
import http from 'node:http';

let count = 0;
let firstAt = 0;
let lastAt = 0;
const now = () => performance.timeOrigin + performance.now();
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, firstAt, lastAt }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    count = firstAt = lastAt = 0;
    res.writeHead(204).end();
    return;
  }
  req.resume();
  req.on('end', () => {
    const t = now();
    if (count === 0) firstAt = t;
    lastAt = t;
    count++;
    res.writeHead(201, { 'content-length': '0' }).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
