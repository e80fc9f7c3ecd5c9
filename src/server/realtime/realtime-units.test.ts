/**
 * The realtime parts without sockets: a room channel's ordering and gap filling (with a scripted
 * store), frame serialization and client-frame parsing. (The bus and presence have their own
 * folders and contract tests: events/, presence/.)
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { RoomEvent, MessageRecord, Store } from '../store/types.js';
import { parseClientFrame } from './connection.js';
import { MessageEntry, payloadOf, wireFrame } from './frames.js';
import type { Logger } from './logger.js';
import { type ChannelSubscriber, RoomChannel } from './room-channel.js';

const ROOM = 'room-1';
const msg = (seq: number, extra: Partial<MessageRecord> = {}): MessageRecord => ({
  id: `m${seq}`,
  roomId: ROOM,
  seq,
  sender: { type: 'user', id: 'author', name: 'Author' },
  content: `message ${seq}`,
  html: `<p>message ${seq}</p>`,
  mentions: { all: false, present: false, userIds: [] },
  createdAt: 1000 + seq,
  editedAt: null,
  deletedAt: null,
  reactions: [],
  ...extra,
});

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A store holding messages 1..committed of ROOM; counts reads; getRoom can be held back. */
function scriptedStore(committed: number, roomReady: Promise<void> = Promise.resolve()) {
  const state = { committed, reads: 0, lastSeqAtStart: committed };
  const store = {
    async getRoom(id: string) {
      await roomReady;
      return { id, name: 'R', createdBy: 'x', createdAt: 0, lastSeq: state.lastSeqAtStart };
    },
    async listRoomEvents(_id: string, after: number, limit: number) {
      state.reads++;
      const out: RoomEvent[] = [];
      for (let s = after + 1; s <= state.committed && out.length < limit; s++) out.push({ kind: 'created', seq: s, message: msg(s) });
      return out;
    },
  } as unknown as Store;
  return { store, state };
}

/** A subscriber that records seqs and lets a test wait for a count. */
function recorder(channel: RoomChannel) {
  const seqs: number[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  const sub = {
    deliver(entry: MessageEntry) {
      seqs.push(entry.seq);
      if (waiting && seqs.length >= waiting.n) waiting.resolve();
    },
  } as unknown as ChannelSubscriber;
  channel.subs.add(sub);
  return {
    seqs,
    until: (n: number) => (seqs.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { n, resolve }))),
  };
}

describe('RoomChannel', () => {
  test('puts events published out of order back in seq order, without reading the store when the late one arrives', async () => {
    const { store, state } = scriptedStore(0);
    const channel = new RoomChannel(ROOM, store, quietLogger, 100);
    await channel.ready;
    const r = recorder(channel);
    state.committed = 3;
    channel.onMessage(msg(3));
    channel.onMessage(msg(1));
    channel.onMessage(msg(2));
    channel.onMessage(msg(2)); // a duplicate (a bus may deliver twice)
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.seqs, [1, 2, 3]);
    assert.equal(state.reads, 0);
  });

  test('fills a gap from the store when an event is lost (more than one page of it)', async () => {
    const { store, state } = scriptedStore(0);
    const channel = new RoomChannel(ROOM, store, quietLogger, 2);
    await channel.ready;
    const r = recorder(channel);
    state.committed = 6;
    channel.onMessage(msg(1));
    channel.onMessage(msg(6)); // 2..5 never published
    await r.until(6);
    assert.deepEqual(r.seqs, [1, 2, 3, 4, 5, 6]);
    assert.equal(channel.position, 6);
    channel.onMessage(msg(4)); // late and already delivered
    channel.onMessage(msg(7));
    assert.deepEqual(r.seqs, [1, 2, 3, 4, 5, 6, 7]);
  });

  test('events that arrive while it starts are kept; live delivery starts after the room\'s last seq', async () => {
    let open!: () => void;
    const { store } = scriptedStore(5, new Promise<void>((resolve) => (open = resolve)));
    const channel = new RoomChannel(ROOM, store, quietLogger, 100);
    const r = recorder(channel);
    channel.onMessage(msg(7));
    channel.onMessage(msg(5)); // committed before the channel started: not live
    channel.onMessage(msg(6));
    open();
    await channel.ready;
    assert.equal(channel.position, 7);
    assert.deepEqual(r.seqs, [6, 7]);
  });
});

describe('frames', () => {
  test('a message is serialized once per alert value and shared by recipients; the snapshot stays private', () => {
    const entry = new MessageEntry(msg(4, { mentions: { all: false, present: true, userIds: ['carol'] }, presentAtPost: ['bob'] }));
    const bob = entry.frameFor('bob');
    assert.equal(entry.frameFor('carol'), bob, 'same buffer for everyone alerted');
    assert.equal(entry.frameFor('dave'), entry.frameFor('author'));
    const parsed = JSON.parse(payloadOf(bob));
    assert.equal(parsed.type, 'message.created');
    assert.deepEqual(parsed.message, { ...msg(4, { mentions: { all: false, present: true, userIds: ['carol'] } }), alert: true });
    assert.equal(JSON.parse(payloadOf(entry.frameFor('dave'))).message.alert, false);
    assert.ok(!payloadOf(bob).includes('presentAtPost'));
  });

  test('frames are whole WebSocket text frames, byte for byte what ws would send, at every length encoding', () => {
    // ws's own framing (its Sender is not in @types/ws): the header ws.send builds for a server frame.
    const { Sender } = createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
      const json = Buffer.alloc(n, 'x');
      const expected = Buffer.concat(Sender.frame(json, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
      assert.deepEqual(wireFrame(json), expected, `length ${n}`);
      assert.equal(payloadOf(wireFrame(json)), json.toString());
    }
  });

  test('client frames are checked; the reason says what to send', () => {
    const text = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    assert.deepEqual(parseClientFrame(text({ type: 'ping' }), false), { type: 'ping' });
    assert.deepEqual(parseClientFrame(text({ type: 'open', roomId: 'r' }), false), { type: 'open', roomId: 'r' });
    assert.deepEqual(parseClientFrame(text({ type: 'resume', rooms: { a: 0, b: 12 } }), false), { type: 'resume', rooms: { a: 0, b: 12 } });
    const proto = parseClientFrame(text('{"type":"resume","rooms":{"__proto__":3}}'), false);
    assert.ok(typeof proto !== 'string' && proto.type === 'resume' && Object.hasOwn(proto.rooms, '__proto__'));
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    for (const bad of ['nope', '[]', '{"type":"resume","rooms":[1]}', '{"type":"resume","rooms":{"a":1.5}}', '{"type":"resume","rooms":{"a":-1}}', '{"type":"open"}', '{"type":"x"}']) {
      assert.equal(typeof parseClientFrame(text(bad), false), 'string', bad);
    }
    assert.equal(typeof parseClientFrame(text({ type: 'ping' }), true), 'string');
  });
});
