/**
 * Every request recorded from a real Amazon Chime webhook client (test/fixtures/chime-clients),
 * replayed byte for byte against a real server: method, path with a real webhook id, query with its
 * real token, headers in wire order and case (minus Host, Content-Length, Transfer-Encoding and
 * Connection, which the HTTP client frames itself), body bytes. aws-delivlib's requests are also
 * replayed chunked, as it sends them. Each must answer what its client needs (README "Rules").
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { fixturePath } from '../../test-support/shared-dir.js';
import { FakeClock, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';

interface Fixture {
  client: string;
  case: string;
  request: { method: string; path: string; query: string; headers: [string, string][]; bodyBase64: string };
  parsed: { Content: string; bodyBytes: number };
}

const dir = fixturePath('chime-clients');
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => /^[a-z-]+--[a-z0-9-]+\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as Fixture);

const FRAMING = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
const RECORDED_ID = '0b3f5a5e-8c1d-4e0a-9b7a-2f6c1d9e4a71';

test('the fixtures are all there: 7 clients x 5 cases', () => {
  assert.equal(fixtures.length, 35);
  assert.equal(new Set(fixtures.map((f) => f.client)).size, 7);
});

for (const backend of availableBackends()) {
  describe(`real Chime clients replayed (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;
    let hook: TestWebhook;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Chime refugees');
      hook = await createWebhook(s, admin, roomId, 'Chime client');
    });
    after(() => s.close());

    const replays = fixtures.flatMap((f) => (f.client === 'aws-delivlib' ? [{ f, chunked: false }, { f, chunked: true }] : [{ f, chunked: false }]));
    for (const { f, chunked } of replays) {
      const tooLong = f.case === 'long-5000';
      test(`${f.client} ${f.case}${chunked ? ' (chunked, as sent)' : ''} → ${tooLong ? '413 JSON, nothing stored' : '200 {MessageId, RoomId}, Content stored exactly'}`, async () => {
        const { request } = f;
        assert.equal(request.path, `/incomingwebhooks/${RECORDED_ID}`);
        assert.match(request.query, /^token=[A-Za-z0-9]{72}$/);
        const body = Buffer.from(request.bodyBase64, 'base64');
        assert.equal(body.length, f.parsed.bodyBytes);
        const headers = request.headers.filter(([name]) => !FRAMING.has(name.toLowerCase()));
        const before = await storedMessages(s.backend.store, roomId);
        clock.advance(1000);
        const res = await rawRequest(portOf(s), {
          method: request.method,
          path: `${request.path.replace(RECORDED_ID, hook.id)}?${request.query.replace(/^token=[A-Za-z0-9]{72}$/, `token=${hook.token}`)}`,
          headers,
          body,
          chunked,
        });
        // Every client JSON.parses the body; the AWS ones crash on anything else (README rule 3).
        assert.match(String(res.headers['content-type']), /^application\/json(;|$)/);
        const after = await storedMessages(s.backend.store, roomId);
        if (tooLong) {
          assert.equal(res.status, 413, res.text);
          assert.equal(res.json.Code, 'PayloadTooLarge');
          assert.ok(res.json.Message.length > 20, 'a Message the AWS clients can show (README rule 4)');
          assert.equal(after.length, before.length);
          return;
        }
        // Exactly 200 (README rule 1), with MessageId and RoomId (rule 2).
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(Object.keys(res.json).sort(), ['MessageId', 'RoomId']);
        assert.equal(res.json.RoomId, roomId);
        assert.equal(after.length, before.length + 1);
        const stored = after.at(-1)!;
        assert.equal(stored.id, res.json.MessageId);
        // Escaped (Python) and raw UTF-8 (Node) bodies store the same text, prefixes kept (rules 9, 11).
        assert.equal(stored.content, f.parsed.Content);
        assert.deepEqual(stored.sender, { type: 'webhook', id: hook.id, name: 'Chime client' });
      });
    }
  });
}
