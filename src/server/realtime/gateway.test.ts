/**
 * The stream (SPEC 5, issue 5) with real `ws` clients against a listening server, on every storage
 * backend. No test waits for time: frames are awaited by predicate, and ping → pong is the barrier
 * after which everything the server meant to send has arrived. Every test checks that each
 * client's messages of a room are exactly the expected seqs, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CLOSE_RESTART, CLOSE_SIGNED_OUT, CLOSE_TOO_SLOW, type ReadyFrame, type ResumedFrame, type RoomChangedFrame, type RoomReadFrame } from '../../shared/stream-protocol.js';
import { LIMITS } from '../../shared/limits.js';
import { availableBackends } from '../../test-support/backends.js';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { createRedis } from '../distributed/redis-client.js';
import { RedisBus } from '../events/redis.js';
import { InProcessBus } from '../events/in-process.js';
import type { Bus } from '../events/types.js';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { StreamClient, refusedUpgrade } from '../../test-support/stream-client.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function post(s: TestServer, user: TestUser, roomId: string, content: string): Promise<number> {
  const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: user.token, body: { content } });
  if (r.status !== 201) throw new Error(`post failed: ${r.status} ${r.text}`);
  return r.body.message.seq as number;
}

/** Posts `n` messages, `parallel` at a time (concurrent commits exercise the channel's reordering). */
async function postMany(s: TestServer, user: TestUser, roomId: string, n: number, parallel = 1, text = (i: number) => `message ${i}`): Promise<void> {
  let next = 0;
  await Promise.all(
    range(1, parallel).map(async () => {
      while (next < n) await post(s, user, roomId, text(next++));
    }),
  );
}

/** Retries `connect` until the server has noticed an earlier close (no time is waited for, only the close). */
async function waitUntilAccepted(connect: () => Promise<StreamClient>, into: StreamClient[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      into.push(await connect());
      return;
    } catch {
      await new Promise((r) => setImmediate(r));
    }
  }
  assert.fail('the stream was never accepted again');
}

/** A connected client that has spoken (an empty resume), so live delivery has started. */
async function live(s: TestServer, user: TestUser): Promise<StreamClient> {
  const c = await StreamClient.ready(s.baseUrl, { token: user.token });
  c.send({ type: 'resume', rooms: {} });
  await c.barrier();
  return c;
}

async function roster(s: TestServer, user: TestUser, roomId: string): Promise<Map<string, boolean>> {
  const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/roster`, { token: user.token });
  assert.equal(r.status, 200);
  return new Map((r.body.members as { userId: string; present: boolean }[]).map((m) => [m.userId, m.present]));
}

async function sessionCookie(s: TestServer, user: TestUser): Promise<string> {
  const res = await fetch(`${s.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: 'correct horse battery' }),
  });
  assert.equal(res.status, 200);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('carillon_session='));
  assert.ok(cookie, 'login sets the session cookie');
  return cookie.split(';')[0]!;
}

for (const backend of availableBackends()) {
  describe(`stream on ${backend}`, { timeout: 120_000 }, () => {
    let s: TestServer;
    let admin: TestUser;
    let n = 0;
    /** Fresh users for each test, so tests share the server but not rooms or presence. */
    const users = (...names: string[]) => Promise.all(names.map((name) => createUser(s.baseUrl, admin, `${name}${++n}`, name)));
    const clients: StreamClient[] = [];
    const track = <T extends StreamClient>(c: T): T => (clients.push(c), c);

    before(async () => {
      // The heartbeat is driven by the tests (gateway.heartbeat()), never by a timer.
      s = await startTestServer({ backend, stream: { heartbeatIntervalMs: 0 } });
      admin = await setupAdmin(s.baseUrl);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
    });

    test('live messages reach both clients of the same user and other members, each once, in seq order', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'live');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const desktop = track(await live(s, bob!));
      const phone = track(await live(s, bob!));
      const author = track(await live(s, alice!));
      assert.deepEqual((desktop.frames[0] as ReadyFrame).rooms, { [roomId]: 0 });
      assert.equal((desktop.frames[0] as ReadyFrame).userId, bob!.id);

      // Ten concurrent posters: commits publish out of seq order, the stream must not.
      await postMany(s, alice!, roomId, 60, 10);
      for (const c of [desktop, phone, author]) {
        await c.waitForSeq(roomId, 60);
        await c.barrier();
        assert.deepEqual(c.seqs(roomId), range(1, 60));
      }
      assert.ok(desktop.messages(roomId).every((m) => m.alert === false && m.sender.id === alice!.id && m.html.length > 0));
    });

    test('alerts: @alias, @All, @Present (present vs online with the room closed vs offline); the author never', async () => {
      const [alice, bob, carol, dave] = await users('alice', 'bob', 'carol', 'dave');
      const roomId = await createRoom(s.baseUrl, alice!, 'alerts');
      for (const u of [bob, carol, dave]) await addMember(s.baseUrl, alice!, roomId, u!);
      const aliceC = track(await live(s, alice!));
      const bobC = track(await live(s, bob!));
      const carolC = track(await live(s, carol!)); // online, room closed
      // dave is offline
      for (const c of [aliceC, bobC]) {
        c.send({ type: 'open', roomId });
        await c.barrier();
      }
      const present = await roster(s, alice!, roomId);
      assert.deepEqual([present.get(alice!.id), present.get(bob!.id), present.get(carol!.id), present.get(dave!.id)], [true, true, false, false]);

      await post(s, alice!, roomId, `hi @${bob!.alias}`); // 1
      await post(s, alice!, roomId, '@All deploy at noon'); // 2
      await post(s, alice!, roomId, '@Present standup now'); // 3
      await post(s, alice!, roomId, `note to self @${alice!.alias}`); // 4
      await post(s, bob!, roomId, '@all thanks'); // 5
      await post(s, alice!, roomId, `@${carol!.email} and @present`); // 6

      const alerts = (c: StreamClient) => c.messages(roomId).map((m) => m.alert);
      for (const c of [aliceC, bobC, carolC]) {
        await c.waitForSeq(roomId, 6);
        assert.deepEqual(c.seqs(roomId), range(1, 6));
      }
      assert.deepEqual(alerts(aliceC), [false, false, false, false, true, false], 'author never alerted, even when present');
      assert.deepEqual(alerts(bobC), [true, true, true, false, false, true], 'bob: @alias, @All, @Present while present; not his own @all');
      assert.deepEqual(alerts(carolC), [false, true, false, false, true, true], 'carol: room closed, so @Present does not alert her; @email does');

      // The snapshot was kept with the message: replays alert exactly as the live delivery did,
      // whoever is present now. dave was offline; carol opens the room before resuming.
      const daveC = track(await StreamClient.ready(s.baseUrl, { token: dave!.token }));
      daveC.send({ type: 'resume', rooms: { [roomId]: 0 } });
      const carol2 = track(await StreamClient.ready(s.baseUrl, { token: carol!.token }));
      carol2.send({ type: 'open', roomId });
      carol2.send({ type: 'resume', rooms: { [roomId]: 0 } });
      const bob2 = track(await StreamClient.ready(s.baseUrl, { token: bob!.token }));
      bob2.send({ type: 'resume', rooms: { [roomId]: 0 } });
      for (const c of [daveC, carol2, bob2]) {
        await c.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed');
        assert.deepEqual(c.seqs(roomId), range(1, 6));
      }
      assert.deepEqual(alerts(daveC), [false, true, false, false, true, false], 'dave was offline at @Present');
      assert.deepEqual(alerts(carol2), alerts(carolC));
      assert.deepEqual(alerts(bob2), alerts(bobC));

      // The presence snapshot stays on the server.
      const history = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: dave!.token });
      assert.equal(history.status, 200);
      const publicKeys = ['content', 'createdAt', 'deletedAt', 'editedAt', 'html', 'id', 'mentions', 'reactions', 'roomId', 'sender', 'seq'];
      assert.deepEqual(Object.keys(history.body.messages[2]).sort(), publicKeys);
      assert.deepEqual(Object.keys(bob2.messages(roomId)[2]!).sort(), ['alert', ...publicKeys]);
    });

    test('roster `present` follows the rooms clients have open; presence.changed reaches the members', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'presence');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const watcher = track(await live(s, alice!));
      const b1 = track(await live(s, bob!));
      const b2 = track(await live(s, bob!));
      const presenceOf = (userId: string) => watcher.ofType('presence.changed').filter((f) => f.userId === userId).map((f) => f.present);

      b1.send({ type: 'open', roomId });
      b2.send({ type: 'open', roomId });
      await b1.barrier();
      await b2.barrier();
      assert.equal((await roster(s, alice!, roomId)).get(bob!.id), true);
      assert.equal((await roster(s, alice!, roomId)).get(alice!.id), false);
      await watcher.barrier();
      assert.deepEqual(presenceOf(bob!.id), [true], 'one change, however many clients open the room');

      b1.send({ type: 'close', roomId });
      await b1.barrier();
      assert.equal((await roster(s, alice!, roomId)).get(bob!.id), true, 'still open on the phone');

      await b2.close(); // disconnecting closes its rooms
      await watcher.waitFor((f) => f.type === 'presence.changed' && f.userId === bob!.id && !f.present, 'bob absent');
      assert.equal((await roster(s, alice!, roomId)).get(bob!.id), false);
      assert.deepEqual(presenceOf(bob!.id), [true, false]);
    });

    test('resume is gap-free while posts race the replay: exactly seqs 11..350, once each, in order', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'resume');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      await postMany(s, alice!, roomId, 300, 10);

      // The 50 posts start first and run while the client connects and resumes.
      const racing = postMany(s, alice!, roomId, 50, 5);
      const c = track(await StreamClient.connect(s.baseUrl, { token: bob!.token }));
      // Sent at once, before `ready` arrives: the server reads it first, ahead of any live message.
      c.send({ type: 'resume', rooms: { [roomId]: 10 } });
      await racing;
      await c.waitForSeq(roomId, 350);
      await c.waitFor((f) => f.type === 'resumed', 'resumed');
      await c.barrier();

      assert.deepEqual(c.seqs(roomId), range(11, 350));
      assert.equal(c.frames[0]!.type, 'ready');
      const resumedAt = c.frames.findIndex((f) => f.type === 'resumed');
      const resumed = c.frames[resumedAt] as ResumedFrame;
      assert.ok(resumed.lastSeq >= 300 && resumed.lastSeq <= 350);
      // Everything up to lastSeq came before `resumed`, everything after it came after.
      const before = c.frames.slice(0, resumedAt).flatMap((f) => (f.type === 'message.created' ? [f.message.seq] : []));
      assert.deepEqual(before, range(11, resumed.lastSeq));
    });

    test('resume hands over from the store to live messages that arrived during its last read', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'handover');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      await postMany(s, alice!, roomId, 300, 10);

      // Hold the replay's last store read (seqs 211..300) after it ran, and post 50 more meanwhile:
      // they are committed after that read saw the store, so they can only come from the live stream.
      const store = s.backend.store;
      const listRoomEvents = store.listRoomEvents;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let reachedGate!: () => void;
      const atGate = new Promise<void>((r) => (reachedGate = r));
      store.listRoomEvents = async (id, after, limit) => {
        const rows = await listRoomEvents.call(store, id, after, limit);
        if (id === roomId && after === 210) {
          reachedGate();
          await gate;
        }
        return rows;
      };
      try {
        const c = track(await StreamClient.connect(s.baseUrl, { token: bob!.token }));
        c.send({ type: 'resume', rooms: { [roomId]: 10 } });
        await atGate;
        await postMany(s, alice!, roomId, 50, 5);
        release();
        await c.waitFor((f) => f.type === 'resumed', 'resumed');
        await c.barrier();
        assert.deepEqual(c.seqs(roomId), range(11, 350));
        assert.equal(c.ofType('resumed')[0]!.lastSeq, 350);
      } finally {
        store.listRoomEvents = listRoomEvents;
      }
    });

    test('a reconnect resumes each room from its last seq; rooms not named stream live from connect time', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const resumed = await createRoom(s.baseUrl, alice!, 'named');
      const other = await createRoom(s.baseUrl, alice!, 'unnamed');
      for (const r of [resumed, other]) await addMember(s.baseUrl, alice!, r, bob!);
      const first = await live(s, bob!);
      await postMany(s, alice!, resumed, 5);
      await postMany(s, alice!, other, 3);
      await first.waitForSeq(resumed, 5);
      const lastSeen = first.seqs(resumed).at(-1)!;
      await first.close();
      await postMany(s, alice!, resumed, 4); // missed while away: 6..9
      await postMany(s, alice!, other, 2); // missed, and not resumed: 4..5 are history, not stream

      const again = track(await StreamClient.ready(s.baseUrl, { token: bob!.token }));
      assert.deepEqual((again.frames[0] as ReadyFrame).rooms, { [resumed]: 9, [other]: 5 });
      again.send({ type: 'resume', rooms: { [resumed]: lastSeen } });
      await again.waitFor((f) => f.type === 'resumed' && f.roomId === resumed, 'resumed');
      await post(s, alice!, resumed, 'live 10');
      await post(s, alice!, other, 'live 6');
      await again.waitForSeq(resumed, 10);
      await again.waitForSeq(other, 6);
      await again.barrier();
      assert.deepEqual(again.seqs(resumed), range(6, 10));
      assert.deepEqual(again.seqs(other), [6]);
      // Resuming a room again restarts its replay from the seq given (the client asked for it).
      again.send({ type: 'resume', rooms: { [other]: 3 } });
      await again.waitFor((f) => f.type === 'resumed' && f.roomId === other, 'second resume');
      assert.deepEqual(again.seqs(other), [6, 4, 5, 6]);
    });

    test('a stalled client does not hold up the others and is closed with 4008', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'stall');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const fast = track(await live(s, bob!));
      const stalled = track(await live(s, bob!));
      const other = track(await live(s, alice!));
      // Stop reading: the kernel buffers fill, then the server's unsent bytes for this socket grow.
      (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const before = s.app.carillon.stream.stats().closedTooSlow;
      // Big frames (the HTML escapes every '<'), so the budget is reached after a few hundred posts.
      const big = (i: number) => `${i} ${'<'.repeat(4000)}`;
      let posted = 0;
      while (s.app.carillon.stream.stats().closedTooSlow === before) {
        assert.ok(posted < 5000, 'the stalled socket should have been closed by now');
        await postMany(s, alice!, roomId, 20, 4, big);
        posted += 20;
      }
      // The others got every message, in order, while the stalled one was still not reading.
      for (const c of [fast, other]) {
        await c.waitForSeq(roomId, posted);
        await c.barrier();
        assert.deepEqual(c.seqs(roomId), range(1, posted));
      }
      (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      const closed = await stalled.closed;
      assert.deepEqual(closed, { code: CLOSE_TOO_SLOW.code, reason: CLOSE_TOO_SLOW.reason });
      const got = stalled.seqs(roomId);
      assert.ok(got.length < posted, 'it fell behind');
      assert.deepEqual(got, range(1, got.length), 'what it did get is in order, without gaps');

      // It reconnects and resumes without loss.
      const back = track(await StreamClient.ready(s.baseUrl, { token: bob!.token }));
      back.send({ type: 'resume', rooms: { [roomId]: got.length } });
      await back.waitFor((f) => f.type === 'resumed', 'resumed');
      assert.deepEqual([...got, ...back.seqs(roomId)], range(1, posted));
    });

    test('removal stops delivery at once: room.removed, then nothing more of the room', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'removal');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const aliceC = track(await live(s, alice!));
      const bobC = track(await live(s, bob!));
      bobC.send({ type: 'open', roomId });
      await post(s, alice!, roomId, 'before');
      await bobC.waitForSeq(roomId, 1);

      const del = await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/members/${bob!.id}`, { token: alice!.token });
      assert.equal(del.status, 204);
      await bobC.waitFor((f) => f.type === 'room.removed' && f.roomId === roomId, 'room.removed');
      await aliceC.waitFor((f) => f.type === 'presence.changed' && f.userId === bob!.id && !f.present, 'bob no longer present');
      await aliceC.waitFor((f) => f.type === 'roster.changed' && f.roomId === roomId, 'roster.changed');
      await post(s, alice!, roomId, 'after');
      await aliceC.waitForSeq(roomId, 2);
      // A removed member cannot get it back by asking.
      bobC.send({ type: 'resume', rooms: { [roomId]: 0 } });
      bobC.send({ type: 'open', roomId });
      await bobC.barrier();

      assert.deepEqual(aliceC.seqs(roomId), [1, 2]);
      assert.deepEqual(bobC.seqs(roomId), [1]);
      const removedAt = bobC.frames.findIndex((f) => f.type === 'room.removed');
      assert.ok(bobC.frames.slice(removedAt + 1).every((f) => !JSON.stringify(f).includes(roomId) || f.type === 'error'));
      assert.equal(bobC.frames.at(-2)!.type, 'error');
      assert.equal((await roster(s, alice!, roomId)).has(bob!.id), false);
    });

    test('signing out closes the streams of that session with 4001 at once; other sessions of the user stay live', async () => {
      const [alice] = await users('alice');
      const roomId = await createRoom(s.baseUrl, alice!, 'sign-out');
      // A second session of the same user (another device), by cookie as the web client has it.
      const cookie = await sessionCookie(s, alice!);
      const byToken = track(await live(s, alice!));
      const byToken2 = track(await live(s, alice!));
      const byCookie = track(await StreamClient.ready(s.baseUrl, { cookie, origin: s.baseUrl }));
      byCookie.send({ type: 'resume', rooms: {} });
      await byCookie.barrier();

      const out = await call(s.baseUrl, 'POST', '/api/v1/auth/logout', { token: alice!.token });
      assert.equal(out.status, 204);
      for (const c of [byToken, byToken2]) assert.deepEqual(await c.closed, { code: CLOSE_SIGNED_OUT.code, reason: CLOSE_SIGNED_OUT.reason });
      // The signed-out token cannot open a new stream either.
      assert.equal((await refusedUpgrade(s.baseUrl, { token: alice!.token })).status, 401);
      // The cookie session is another session: still live.
      const res = await fetch(`${s.baseUrl}/api/v1/rooms/${roomId}/messages`, {
        method: 'POST',
        headers: { cookie, origin: s.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'still here' }),
      });
      assert.equal(res.status, 201);
      await byCookie.waitForSeq(roomId, 1);
      assert.deepEqual(byCookie.seqs(roomId), [1]);
    });

    test(`at most ${LIMITS.streamsPerUser} open streams per user: the next upgrade gets 429; closing one makes room`, async () => {
      const [carl, dora] = await users('carl', 'dora');
      const open = await Promise.all(Array.from({ length: LIMITS.streamsPerUser }, () => StreamClient.ready(s.baseUrl, { token: carl!.token })));
      const refused = await refusedUpgrade(s.baseUrl, { token: carl!.token });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.Code, 'Throttled');
      // Other users are not affected.
      track(await StreamClient.ready(s.baseUrl, { token: dora!.token }));
      await open.pop()!.close();
      await waitUntilAccepted(() => StreamClient.ready(s.baseUrl, { token: carl!.token }), open);
      assert.equal(open.length, LIMITS.streamsPerUser);
      for (const c of open) track(c);
    });

    test("an outsider's socket receives nothing of the room", async () => {
      const [alice, bob, eve] = await users('alice', 'bob', 'eve');
      const roomId = await createRoom(s.baseUrl, alice!, 'private');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const eveC = track(await StreamClient.ready(s.baseUrl, { token: eve!.token }));
      // Asking for the room does not help, and does not tell whether it exists.
      eveC.send({ type: 'resume', rooms: { [roomId]: 0 } });
      eveC.send({ type: 'open', roomId });
      const bobC = track(await live(s, bob!));
      bobC.send({ type: 'open', roomId });
      await post(s, alice!, roomId, '@All secret plans');
      await post(s, bob!, roomId, `@${eve!.alias} cannot see this`);
      const [carol] = await users('carol');
      await addMember(s.baseUrl, alice!, roomId, carol!);
      await bobC.waitForSeq(roomId, 2);
      await bobC.waitFor((f) => f.type === 'roster.changed', 'roster.changed');
      await bobC.close();
      await eveC.barrier();

      assert.deepEqual((eveC.frames[0] as ReadyFrame).rooms, {});
      assert.deepEqual(eveC.frames.map((f) => f.type), ['ready', 'error', 'pong']);
      assert.ok(!JSON.stringify(eveC.frames).includes(roomId));
      assert.deepEqual(eveC.ofType('error')[0], { type: 'error', Code: 'NotFound', Message: 'No such room, or you are not a member of it.' });
    });

    test('a member added later gets room.added, then that room live; a role change sends room.changed', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'later');
      const aliceC = track(await live(s, alice!));
      const bobC = track(await live(s, bob!));
      await post(s, alice!, roomId, 'before bob');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const added = await bobC.waitFor((f) => f.type === 'room.added', 'room.added');
      assert.equal(added.type === 'room.added' && added.room.id, roomId);
      assert.deepEqual(added.type === 'room.added' && [added.room.role, added.room.lastSeq, added.room.name], ['member', 1, 'later']);
      await aliceC.waitFor((f) => f.type === 'roster.changed' && f.roomId === roomId, 'roster.changed');
      await post(s, alice!, roomId, 'after bob');
      await bobC.waitForSeq(roomId, 2);
      assert.deepEqual(bobC.seqs(roomId), [2]);

      const patch = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/members/${bob!.id}`, { token: alice!.token, body: { role: 'administrator' } });
      assert.equal(patch.status, 200);
      const changed = await bobC.waitFor((f) => f.type === 'room.changed', 'room.changed');
      assert.equal(changed.type === 'room.changed' && changed.room.role, 'administrator');
    });

    test("read state: reading on one socket sends room.read to all of that user's sockets, and to no one else", async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'reading');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const desktop = track(await live(s, bob!));
      const phone = track(await live(s, bob!));
      const aliceC = track(await live(s, alice!));
      await post(s, alice!, roomId, 'one');
      await post(s, alice!, roomId, `two @${bob!.alias}`);
      await post(s, alice!, roomId, 'three');
      await phone.waitForSeq(roomId, 3);

      const put = await call(s.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: bob!.token, body: { seq: 1 } });
      assert.equal(put.status, 200, put.text);
      const expected = { type: 'room.read', roomId, lastReadSeq: 1, unreadCount: 2, mentionCount: 1, lastSeq: 3 };
      for (const c of [phone, desktop]) {
        assert.deepEqual(await c.waitFor<RoomReadFrame>((f) => f.type === 'room.read' && f.lastReadSeq === 1, 'room.read 1'), expected);
      }
      // A stale device's lower seq is a no-op: no frame. Then the rest is read.
      await call(s.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: bob!.token, body: { seq: 0 } });
      await call(s.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: bob!.token, body: { seq: 3 } });
      await phone.waitFor((f) => f.type === 'room.read' && f.lastReadSeq === 3, 'room.read 3');
      await Promise.all([phone.barrier(), aliceC.barrier()]);
      assert.deepEqual(phone.ofType('room.read').map((f) => [f.lastReadSeq, f.unreadCount, f.mentionCount]), [[1, 2, 1], [3, 0, 0]]);
      // Alice gets her own read state only (her posts marked the room read for her), never bob's.
      assert.deepEqual(aliceC.ofType('room.read').map((f) => f.lastReadSeq), [1, 2, 3]);

      // Bob's own post marks the room read for him: his other devices hear it.
      const seq = await post(s, bob!, roomId, 'reply');
      assert.deepEqual(
        await desktop.waitFor<RoomReadFrame>((f) => f.type === 'room.read' && f.lastReadSeq === seq, 'room.read after own post'),
        { type: 'room.read', roomId, lastReadSeq: seq, unreadCount: 0, mentionCount: 0, lastSeq: seq },
      );
    });

    test("notification settings: a change on one device reaches the user's other sockets as room.changed", async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'settings');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const phone = track(await live(s, bob!));
      const aliceC = track(await live(s, alice!));
      const r = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/settings`, { token: bob!.token, body: { notify: 'all', muted: true } });
      assert.equal(r.status, 200, r.text);
      const changed = await phone.waitFor<RoomChangedFrame>((f) => f.type === 'room.changed' && f.room.id === roomId, 'room.changed');
      assert.deepEqual([changed.room.notify, changed.room.muted, changed.room.role], ['all', true, 'member']);
      await aliceC.barrier();
      assert.deepEqual(aliceC.ofType('room.changed'), [], 'other members hear nothing of it');
    });

    test('webhook posts arrive live like member posts; webhook changes send roster.changed', async () => {
      const [alice, bob] = await users('alice', 'bob');
      const roomId = await createRoom(s.baseUrl, alice!, 'hooks');
      await addMember(s.baseUrl, alice!, roomId, bob!);
      const bobC = track(await live(s, bob!));
      const created = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: alice!.token, body: { name: 'Deploy bot' } });
      assert.equal(created.status, 201);
      await bobC.waitFor((f) => f.type === 'roster.changed' && f.roomId === roomId, 'roster.changed');
      const url = new URL(created.body.url as string);
      const res = await fetch(`${s.baseUrl}${url.pathname}${url.search}`, { method: 'POST', body: JSON.stringify({ Content: '@All build 42 is green :tada:' }) });
      assert.equal(res.status, 200);
      const frame = await bobC.waitForSeq(roomId, 1);
      assert.ok(frame.type === 'message.created');
      assert.deepEqual([frame.message.sender.type, frame.message.sender.name, frame.message.alert], ['webhook', 'Deploy bot', true]);
      assert.deepEqual(bobC.seqs(roomId), [1]);
    });

    test('cookie upgrades need our Origin (cross-site → 403); no credentials → 401; no token in the URL', async () => {
      const [alice] = await users('alice');
      const cookie = await sessionCookie(s, alice!);
      const cross = await refusedUpgrade(s.baseUrl, { cookie, origin: 'https://evil.test' });
      assert.equal(cross.status, 403);
      assert.equal(cross.body.Code, 'Forbidden');
      const noOrigin = await refusedUpgrade(s.baseUrl, { cookie });
      assert.equal(noOrigin.status, 403, 'a cookie upgrade without Origin is refused (browsers always send one)');
      const same = track(await StreamClient.ready(s.baseUrl, { cookie, origin: s.baseUrl }));
      assert.equal((same.frames[0] as ReadyFrame).userId, alice!.id);

      const anonymous = await refusedUpgrade(s.baseUrl);
      assert.deepEqual([anonymous.status, anonymous.body.Code], [401, 'Unauthorized']);
      const badToken = await refusedUpgrade(s.baseUrl, { token: 'x'.repeat(43) });
      assert.deepEqual([badToken.status, badToken.body.Code], [401, 'Unauthorized']);
      const inUrl = await refusedUpgrade(s.baseUrl, { query: `?access_token=${alice!.token}` });
      assert.deepEqual([inUrl.status, inUrl.body.Code], [401, 'Unauthorized']);
      const expiredCookie = await refusedUpgrade(s.baseUrl, { cookie: `carillon_session=${'y'.repeat(43)}`, origin: s.baseUrl });
      assert.equal(expiredCookie.status, 401);
      // A bearer token is not ambient (a foreign page cannot send it), so Origin does not matter.
      const bearer = track(await StreamClient.ready(s.baseUrl, { token: alice!.token, origin: 'https://elsewhere.test' }));
      assert.equal((bearer.frames[0] as ReadyFrame).userId, alice!.id);
    });

    test('bad client frames get an error frame and the socket stays usable', async () => {
      const [alice] = await users('alice');
      const c = track(await live(s, alice!));
      c.send('not json');
      c.send({ type: 'subscribe' });
      c.send({ type: 'resume', rooms: { x: -1 } });
      c.send({ type: 'open' });
      c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
      await c.barrier();
      const errors = c.ofType('error');
      assert.equal(errors.length, 5);
      assert.ok(errors.every((e) => e.Code === 'InvalidRequest' && e.Message.length > 10));
    });

    test('heartbeat: a socket that does not answer pings is dropped; one that does stays', async () => {
      const [alice] = await users('alice');
      const healthy = track(await live(s, alice!));
      const silent = track(await StreamClient.ready(s.baseUrl, { token: alice!.token, autoPong: false }));
      silent.send({ type: 'resume', rooms: {} });
      await silent.barrier();
      const pinged = new Promise((resolve) => healthy.ws.once('ping', resolve));
      s.app.carillon.stream.heartbeat();
      await pinged;
      await healthy.barrier(); // its pong was read before this ping
      s.app.carillon.stream.heartbeat();
      const closed = await silent.closed;
      assert.equal(closed.code, 1006, 'terminated without a closing handshake');
      await healthy.barrier();
    });
  });
}

describe('read state across two nodes', { timeout: 120_000 }, () => {
  const quiet = { warn: () => {}, info: () => {} };
  const nodesOn: { name: string; buses: () => Promise<{ a: Bus; b: Bus; close: () => void }> }[] = [
    // Two gateways on one bus: what each node's gateway does with the other's events.
    { name: 'one shared bus', buses: async () => { const bus = new InProcessBus(); return { a: bus, b: bus, close: () => {} }; } },
  ];
  if (redisAvailable()) {
    nodesOn.push({
      name: 'Redis pub/sub',
      buses: async () => {
        const conns: Redis[] = [];
        const bus = (node: string) => {
          const [pub, sub] = [createRedis(testRedisUrl!, quiet, `${node}-pub`), createRedis(testRedisUrl!, quiet, `${node}-sub`)];
          conns.push(pub, sub);
          return new RedisBus(pub, sub, randomUUID(), () => {});
        };
        const a = bus('a');
        const b = bus('b');
        // Pub/sub is live once a probe published on one node arrives on the other.
        let seen = false;
        const off = b.subscribe((e) => (seen ||= e.type === 'webhooks.changed'));
        for (let i = 0; i < 200 && !seen; i++) {
          a.publish({ type: 'webhooks.changed', roomId: randomUUID() });
          await new Promise((r) => setTimeout(r, 25));
        }
        off();
        assert.ok(seen, 'Redis pub/sub carries events between the two buses');
        return { a, b, close: () => conns.forEach((c) => c.disconnect()) };
      },
    });
  }

  for (const { name, buses } of nodesOn) {
    test(`reading or changing settings on node A reaches the user's socket on node B, and back (${name})`, async () => {
      const { a: busA, b: busB, close } = await buses();
      const backend = availableBackends().at(-1)!;
      const a = await startTestServer({ backend, bus: busA, stream: { heartbeatIntervalMs: 0 } });
      const b = await startTestServer({ sameDatabaseAs: a, bus: busB, stream: { heartbeatIntervalMs: 0 } });
      const clients: StreamClient[] = [];
      try {
        const admin = await setupAdmin(a.baseUrl);
        const bob = await createUser(a.baseUrl, admin, 'bob');
        const roomId = await createRoom(a.baseUrl, admin, 'two nodes');
        await addMember(a.baseUrl, admin, roomId, bob);
        await post(a, admin, roomId, `hello @${bob.alias}`);
        await post(a, admin, roomId, 'again');
        const onA = await live(a, bob);
        const onB = await live(b, bob);
        clients.push(onA, onB);

        assert.equal((await call(a.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: bob.token, body: { seq: 1 } })).status, 200);
        assert.deepEqual(
          await onB.waitFor<RoomReadFrame>((f) => f.type === 'room.read', 'room.read on node B'),
          { type: 'room.read', roomId, lastReadSeq: 1, unreadCount: 1, mentionCount: 0, lastSeq: 2 },
        );
        assert.equal((await call(b.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/settings`, { token: bob.token, body: { muted: true } })).status, 200);
        const changed = await onA.waitFor<RoomChangedFrame>((f) => f.type === 'room.changed', 'room.changed on node A');
        assert.equal(changed.room.muted, true);
        const seq = await post(b, bob, roomId, 'from node B');
        await onA.waitFor((f) => f.type === 'room.read' && f.lastReadSeq === seq, 'room.read on node A after the post on B');
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await b.close();
        await a.close();
        close();
      }
    });
  }
});

describe('stream shutdown', () => {
  test('closing the server closes every socket with 1012 and a reconnect hint', async () => {
    const s = await startTestServer({ stream: { heartbeatIntervalMs: 0 } });
    const admin = await setupAdmin(s.baseUrl);
    const a = await StreamClient.ready(s.baseUrl, { token: admin.token });
    const b = await StreamClient.ready(s.baseUrl, { token: admin.token });
    await s.close();
    for (const c of [a, b]) assert.deepEqual(await c.closed, { code: CLOSE_RESTART.code, reason: CLOSE_RESTART.reason });
  });

  test('while draining, new upgrades get 503', async () => {
    const s = await startTestServer({ stream: { heartbeatIntervalMs: 0 } });
    try {
      const admin = await setupAdmin(s.baseUrl);
      s.app.carillon.state.draining = true;
      const r = await refusedUpgrade(s.baseUrl, { token: admin.token });
      assert.deepEqual([r.status, r.body.Code], [503, 'ServiceUnavailable']);
    } finally {
      s.app.carillon.state.draining = false;
      await s.close();
    }
  });
});

describe('the first frame (issue 12)', () => {
  test('a client that connects and says nothing gets its rooms’ new messages (no heartbeat needed), each once, in order', async () => {
    // The heartbeat timer is off: only the first-frame wait (default 0.5 s) can start delivery.
    const s = await startTestServer({ stream: { heartbeatIntervalMs: 0 } });
    try {
      const admin = await setupAdmin(s.baseUrl);
      const bob = await createUser(s.baseUrl, admin, 'bob', 'Bob');
      const roomId = await createRoom(s.baseUrl, admin, 'silent');
      await addMember(s.baseUrl, admin, roomId, bob);
      await post(s, admin, roomId, 'before connecting');
      const silent = await StreamClient.ready(s.baseUrl, { token: bob.token });
      assert.deepEqual((silent.frames[0] as ReadyFrame).rooms, { [roomId]: 1 });
      await postMany(s, admin, roomId, 5, 3);
      await silent.waitForSeq(roomId, 6);
      // A room it is added to later flows too, still without a word from the client.
      const later = await createRoom(s.baseUrl, admin, 'added later');
      await addMember(s.baseUrl, admin, later, bob);
      await silent.waitFor((f) => f.type === 'room.added' && f.room.id === later, 'room.added');
      await post(s, admin, later, 'in the new room');
      await silent.waitForSeq(later, 1);
      await silent.barrier();
      assert.deepEqual(silent.seqs(roomId), range(2, 6), 'the live messages after ready, once, in order; nothing from before');
      assert.deepEqual(silent.seqs(later), [1]);
      await silent.close();
    } finally {
      await s.close();
    }
  });

  test('a resume sent first still gets every message once, in order, with no gap, including those posted before it was read', async () => {
    // A long wait stands for a slow link: the messages below are posted after `ready` but before
    // the server reads the client's resume.
    const s = await startTestServer({ stream: { heartbeatIntervalMs: 0, firstFrameWaitMs: 60_000 } });
    try {
      const admin = await setupAdmin(s.baseUrl);
      const bob = await createUser(s.baseUrl, admin, 'bob', 'Bob');
      const resumed = await createRoom(s.baseUrl, admin, 'resumed');
      const other = await createRoom(s.baseUrl, admin, 'not named');
      for (const r of [resumed, other]) await addMember(s.baseUrl, admin, r, bob);
      await postMany(s, admin, resumed, 3);
      const c = await StreamClient.ready(s.baseUrl, { token: bob.token });
      assert.deepEqual((c.frames[0] as ReadyFrame).rooms, { [resumed]: 3, [other]: 0 });
      await postMany(s, admin, resumed, 4, 2); // 4..7, held
      await postMany(s, admin, other, 2); // 1..2, held
      c.send({ type: 'resume', rooms: { [resumed]: 1 } });
      await c.waitFor((f) => f.type === 'resumed' && f.roomId === resumed, 'resumed');
      await post(s, admin, resumed, 'live'); // 8
      await c.waitForSeq(resumed, 8);
      await c.waitForSeq(other, 2);
      await c.barrier();
      assert.deepEqual(c.seqs(resumed), range(2, 8));
      assert.deepEqual(c.seqs(other), [1, 2], 'a room the resume did not name gets what was held for it, then live');
      await c.close();
    } finally {
      await s.close();
    }
  });
});
