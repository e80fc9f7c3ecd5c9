// The fan-out floor: a bare `ws` server. POST /post {Content} broadcasts one JSON frame to every
// connected socket, serialized once, and answers 200; that is all Carillon's fan-out must do too.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

let seq = 0;
const wss = new WebSocketServer({ noServer: true });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const frame = JSON.stringify({ type: 'message.created', message: { seq: ++seq, content: body.Content } });
    for (const ws of wss.clients) ws.send(frame);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
