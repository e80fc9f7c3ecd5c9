// The ingest floor: a bare Node http server that reads the body, JSON.parses it and answers 200
// with a small JSON body, as Carillon's webhook endpoint does minus everything else.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof body.Content !== 'string') throw new Error('no Content');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ MessageId: randomUUID(), RoomId: 'bare' }));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"Code":"InvalidPayload","Message":"bad"}');
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
