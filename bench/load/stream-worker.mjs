// Stream clients, run as their own process (pinned to the load core), driven over IPC by the bench:
//   {cmd:'connect', url, tokens:[…] | count, concurrency, carillon} → {connected, failed}
//   {cmd:'reset', track} → {}       start counting (track: parse each frame for latency, id, seq)
//   {cmd:'stats'} → {frames, seconds, latencies, ids, gaps, duplicates, closed}
//   {cmd:'close'} → {} and exit
// Latency: posters put `t=<process.hrtime.bigint()>` in the Content. hrtime is CLOCK_MONOTONIC,
// one clock for every process on the machine, so POST → frame is measured across processes.
import WebSocket from 'ws';

const sockets = [];
let track = false;
let frames = 0;
let startedAt = process.hrtime.bigint();
let latencies = [];
/** message id → deliveries over this worker's sockets */
let ids = new Map();
let gaps = 0;
let duplicates = 0;
let closed = 0;
const MESSAGE_PREFIX = Buffer.from('{"type":"message.created"');

/**
 * The fields the bench needs, read with one regex rather than JSON.parse: a client parsing every
 * frame of 100 sockets in full queues the later sockets' frames behind the earlier ones, and that
 * wait (larger for larger frames) would count as server latency. Carillon's frames start with
 * id, roomId, seq (presentMessage's order); anything else is parsed in full.
 */
const CARILLON_HEAD = /^\{"type":"message\.created","message":\{"id":"([^"]+)","roomId":"([^"]+)","seq":(\d+),/;
function readMessage(text) {
  const head = CARILLON_HEAD.exec(text);
  if (head) return { id: head[1], roomId: head[2], seq: Number(head[3]), content: text.slice(head[0].length, head[0].length + 400) };
  return JSON.parse(text).message;
}

function onFrame(state, data) {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (state.carillon && !state.ready) {
    const f = JSON.parse(buf.toString('utf8'));
    if (f.type === 'ready') {
      state.ready = true;
      state.seqs = f.rooms;
      state.onReady?.();
    }
    return;
  }
  if (buf.length < MESSAGE_PREFIX.length || buf.compare(MESSAGE_PREFIX, 0, MESSAGE_PREFIX.length, 0, MESSAGE_PREFIX.length) !== 0) return;
  frames++;
  if (!track) return;
  const now = process.hrtime.bigint();
  const message = readMessage(buf.toString('latin1'));
  const m = /t=(\d+)/.exec(message.content);
  if (m) latencies.push(Number(now - BigInt(m[1])) / 1e6);
  if (message.id) ids.set(message.id, (ids.get(message.id) ?? 0) + 1);
  if (state.carillon) {
    // Per room, seqs must arrive gap-free and once each (SPEC 5).
    const last = state.seqs[message.roomId];
    if (last !== undefined) {
      if (message.seq <= last) duplicates++;
      else if (message.seq !== last + 1) gaps++;
    }
    if (last === undefined || message.seq > last) state.seqs[message.roomId] = message.seq;
  }
}

function connectOne(url, token, carillon) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const state = { carillon, ready: !carillon, seqs: {}, onReady: undefined };
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done(false);
    }, 20_000);
    ws.on('message', (data) => onFrame(state, data));
    ws.on('error', () => done(false));
    ws.on('close', () => {
      if (settled) closed++;
      done(false);
    });
    ws.on('open', () => {
      sockets.push(ws);
      // The stream protocol: resume as the first frame, so the server sends live messages at once.
      if (carillon) {
        state.onReady = () => done(true);
        ws.send('{"type":"resume","rooms":{}}');
      } else {
        done(true);
      }
    });
  });
}

async function connect({ url, tokens, count, concurrency, carillon }) {
  const list = tokens ?? Array.from({ length: count }, () => undefined);
  let next = 0;
  let connected = 0;
  let failed = 0;
  const lane = async () => {
    while (next < list.length) {
      const token = list[next++];
      if (await connectOne(url, token, carillon)) connected++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency ?? 50, list.length) }, lane));
  return { connected, failed };
}

process.on('message', async (msg) => {
  switch (msg.cmd) {
    case 'connect':
      process.send(await connect(msg));
      return;
    case 'reset':
      track = Boolean(msg.track);
      frames = 0;
      latencies = [];
      ids = new Map();
      gaps = 0;
      duplicates = 0;
      startedAt = process.hrtime.bigint();
      process.send({});
      return;
    case 'stats':
      process.send({
        frames,
        seconds: Number(process.hrtime.bigint() - startedAt) / 1e9,
        latencies,
        ids: [...ids],
        gaps,
        duplicates,
        closed,
        open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
      });
      return;
    case 'close':
      for (const s of sockets) s.terminate();
      process.send({});
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
// Never outlive the bench (its IPC channel closes when it exits).
process.on('disconnect', () => process.exit(0));
