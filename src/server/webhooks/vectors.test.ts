/**
 * Every vector of test/vectors webhook-bodies-{malformed,types-keys,size,encoding} and
 * request-variants, posted to a real server over HTTP on every backend, each pinned by name to one
 * answer. Where a vector leaves a choice ("pin"), the choice is made here, with the reason beside it.
 * Where a vector's text disagrees with SPEC.md, the SPEC wins and the entry says so.
 *
 * A table that misses a vector, or names one that no longer exists, fails: new vectors get pinned.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { type TestVector, loadVectors, vectorBody } from '../../test-support/shared-dir.js';
import {
  FakeClock,
  type RawResponse,
  type TestWebhook,
  createWebhook,
  deleteWebhook,
  portOf,
  rawRequest,
  rawSocket,
  regenerateWebhook,
  sleep,
  storedMessages,
} from '../../test-support/webhooks.js';

/** [status, Code (for errors), the stored Content when it is not simply JSON.parse(body).Content]. */
type Expect = [200] | [200, null, string] | [number, string];

const BAD = (): Expect => [400, 'InvalidPayload'];
const TOO_LARGE: Expect = [413, 'PayloadTooLarge'];

const MALFORMED: Record<string, Expect> = {
  empty_body: BAD(),
  whitespace_only: BAD(),
  empty_object: BAD(),
  top_level_array: BAD(),
  top_level_array_with_object: BAD(),
  top_level_string: BAD(),
  top_level_null: BAD(),
  top_level_number: BAD(),
  top_level_true: BAD(),
  truncated_object: BAD(),
  truncated_string: BAD(),
  extra_closing_brace: BAD(),
  trailing_garbage: BAD(),
  two_concatenated_documents: BAD(),
  ndjson_two_lines: BAD(),
  trailing_comma: BAD(),
  single_quotes: BAD(),
  unquoted_key: BAD(),
  js_comment: BAD(),
  line_comment: BAD(),
  // Pinned: 400. JSON forbids raw control characters in strings, and a lenient parser would be a
  // second JSON dialect to keep in step; a tab is sent as \t by every real client.
  raw_tab_inside_string: BAD(),
  raw_newline_inside_string: BAD(),
  invalid_escape_x: BAD(),
  short_unicode_escape: BAD(),
  nan_value: BAD(),
  infinity_value: BAD(),
  hex_number_json5: BAD(),
  unterminated_escape_at_end: BAD(),
  slack_style_form_payload_with_json_ctype: BAD(),
  form_urlencoded_body_with_json_ctype: BAD(),
  xml_body: BAD(),
  yaml_body: BAD(),
  object_then_nul_byte: BAD(),
  leading_nul_byte: BAD(),
};

const TYPES_KEYS: Record<string, Expect> = {
  content_null: BAD(),
  content_number: BAD(),
  content_float_exponent: BAD(),
  content_bool: BAD(),
  content_array: BAD(),
  content_array_of_two: BAD(),
  content_object: BAD(),
  content_object_with_toString: BAD(),
  content_empty_string: BAD(),
  content_spaces_only: BAD(),
  content_newlines_tabs_only: BAD(),
  // Pinned: 400. Only zero-width characters would render as an invisible ghost message.
  content_zero_width_only: BAD(),
  content_nbsp_only: BAD(),
  content_literal_null_string: [200, null, 'null'],
  content_literal_undefined_string: [200, null, 'undefined'],
  // SPEC 2.2 wins over the vector's "400": a key that differs from Content only in letter case is used.
  lowercase_key: [200, null, 'hello'],
  uppercase_key: [200, null, 'hello'],
  key_with_trailing_space: BAD(),
  key_with_zero_width: BAD(),
  slack_text_key: BAD(),
  both_cases_present: [200, null, 'upper'],
  // Pinned: a repeated key keeps its last value (JSON.parse), and that one value is size-checked,
  // mention-checked and stored: the long last value is refused, the short last value is stored.
  duplicate_key_last_long: TOO_LARGE,
  duplicate_key_first_long: [200, null, 'short'],
  // Posted to a room of 51 members (below): the value that counts is "@All wake up".
  duplicate_key_mention_smuggle: [400, 'TooManyMembers'],
  extra_key_username: [200, null, 'hello'],
  extra_key_icon_url: [200, null, 'hello'],
  extra_key_channel: [200, null, 'hello'],
  extra_key_room_id: [200, null, 'hello'],
  extra_key_sender_id: [200, null, 'hello'],
  extra_key_props: [200, null, 'hello'],
  extra_key_attachments_null_entry: [200, null, 'hello'],
  extra_key_attachments_empty_obj: [200, null, 'hello'],
  // Rendering follows the /md prefix only; keys in the body change nothing.
  extra_key_markdown_false: [200, null, '**bold**'],
  extra_key_timestamp: [200, null, 'hello'],
  extra_key_id: [200, null, 'hello'],
  proto_key_nested_content: BAD(),
  proto_key_pollution: [200, null, 'hello'],
  constructor_prototype_pollution: [200, null, 'hello'],
  method_name_keys: [200, null, 'hello'],
  many_extra_keys: [200, null, 'hello'],
  content_key_not_first: [200, null, 'hello'],
};

const SIZE: Record<string, Expect> = {
  ascii_4095: [200],
  ascii_4096: [200],
  ascii_4097: TOO_LARGE,
  latin1_2byte_4096: [200],
  latin1_2byte_4097: [200],
  latin1_2byte_4097_split_char: [200],
  euro_3byte_4096: [200],
  euro_3byte_4097: [200],
  euro_3byte_4098_1366chars: [200],
  cjk_3byte_4095: [200],
  emoji_4byte_4096: [200],
  emoji_4byte_4097: [200],
  emoji_4byte_4097_split: [200],
  trap_charcount_4096_bytes_8192: [200],
  trap_jslength_4096_bytes_8192: [200],
  trap_jslength_2050_bytes_4100: [200],
  zwj_family_ends_at_4096: [200],
  zwj_family_ends_at_4097: [200],
  crlf_counts_two_bytes_4096: [200],
  crlf_4097: TOO_LARGE,
  nfd_accents_4096: [200],
  nfd_accents_4098: [200],
  escaped_ascii_content_4096_body_24k: [200],
  escaped_2byte_content_4096_body_12k: [200],
  escaped_ascii_content_4097: TOO_LARGE,
  quotes_escaped_4096: [200],
  backslashes_4097: TOO_LARGE,
  small_content_huge_whitespace_padding: TOO_LARGE,
  content_64KiB_plus_1: TOO_LARGE,
  body_128KiB: TOO_LARGE,
  // Pinned: 200, extra keys ignored however deep (V8's JSON.parse is not recursive).
  deep_array_nesting_extra_key_10k: [200, null, 'hello'],
  deep_object_nesting_extra_key_5k: [200, null, 'hello'],
  deep_array_as_content_10k: BAD(),
  deep_nesting_100k_over_cap: TOO_LARGE,
  long_key_name_60k: [200, null, 'hello'],
  // Pinned: 200, the number is an ignored extra key.
  huge_number_literal: [200, null, 'hello'],
  single_4096_byte_word: [200],
  newline_flood_4096: [200],
};

const ENCODING: Record<string, Expect> = {
  // Pinned: invalid UTF-8 is refused (400), never replaced with U+FFFD: what is stored is what was sent.
  utf8_lone_continuation_byte: BAD(),
  utf8_invalid_2byte_seq: BAD(),
  utf8_byte_ff_fe: BAD(),
  utf8_overlong_slash: BAD(),
  utf8_overlong_nul_modified_utf8: BAD(),
  utf8_overlong_lt_gt_3byte: BAD(),
  utf8_cesu_surrogate_half: BAD(),
  utf8_truncated_4byte_at_end: BAD(),
  utf8_5byte_sequence: BAD(),
  utf8_above_10ffff: BAD(),
  // Pinned: 200, a leading byte-order mark is skipped (Windows tools write one).
  utf8_bom_before_json: [200, null, 'bom first'],
  // A BOM inside the Content is kept: content is stored exactly as sent.
  utf8_bom_inside_content: [200, null, '\ufeffhello'],
  utf16le_with_bom: BAD(),
  utf16be_no_bom: BAD(),
  utf32le: BAD(),
  latin1_bytes_declared_utf8: BAD(),
  raw_nul_inside_string: BAD(),
  raw_control_0x01_inside_string: BAD(),
  // Pinned: 400 on both backends (PostgreSQL text cannot hold NUL; SQLite would): never truncated.
  escaped_nul_in_content: BAD(),
  escaped_nul_only: BAD(),
  // Pinned: 400 for unpaired surrogates, never U+FFFD.
  escaped_lone_high_surrogate: BAD(),
  escaped_lone_low_surrogate: BAD(),
  escaped_reversed_surrogate_pair: BAD(),
  escaped_valid_surrogate_pair: [200, null, 'smile 😀'],
  // Pinned: stored exactly as sent (SPEC 2.2); how controls are shown is the renderer's business,
  // and no log line carries message content (checked below).
  escaped_c0_controls_ansi: [200],
  escaped_del_and_c1: [200],
  line_separator_u2028: [200],
  script_close_in_content: [200],
  // Pinned: 200, noncharacters are valid Unicode scalar values.
  noncharacters: [200],
  private_use_chars: [200],
  crlf_log_injection: [200],
  ansi_osc_log_injection: [200],
};

const BODY_FILES: [string, Record<string, Expect>][] = [
  ['webhook-bodies-malformed.jsonl', MALFORMED],
  ['webhook-bodies-types-keys.jsonl', TYPES_KEYS],
  ['webhook-bodies-size.jsonl', SIZE],
  ['webhook-bodies-encoding.jsonl', ENCODING],
];

const JSON_TYPE = /^application\/json(;|$)/;

function assertAnswer(res: { status: number; json: any; headers?: Record<string, unknown> }, expected: Expect, name: string): void {
  assert.equal(res.status, expected[0], `${name}: expected ${expected[0]} ${expected[1] ?? ''}, got ${res.status} ${JSON.stringify(res.json)}`);
  if (res.headers) assert.match(String(res.headers['content-type']), JSON_TYPE, name);
  if (expected[0] === 200) {
    assert.deepEqual(Object.keys(res.json).sort(), ['MessageId', 'RoomId'], name);
  } else {
    assert.equal(res.json?.Code, expected[1], name);
    assert.ok(typeof res.json?.Message === 'string' && res.json.Message.length > 20, `${name}: a Message that says what to fix`);
    assert.ok(!/\bat .*\.(ts|js):\d+/.test(res.json.Message), `${name}: no stack trace`);
  }
}

/** The Content a 200 vector must store, read independently of the server's parser. */
function expectedContent(v: TestVector, expected: Expect): string {
  if (expected.length === 3) return expected[2];
  return (JSON.parse(vectorBody(v).toString('utf8')) as { Content: string }).Content;
}

for (const backend of availableBackends()) {
  describe(`webhook vectors (${backend})`, () => {
    let s: TestServer;
    let port: number;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;
    let bigRoom: string;
    let hook: TestWebhook;
    let oldHook: TestWebhook;
    let bigHook: TestWebhook;
    let deleted: TestWebhook;
    let other: TestWebhook;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      port = portOf(s);
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Vectors');
      oldHook = await createWebhook(s, admin, roomId, 'Vector bot');
      hook = await regenerateWebhook(s, admin, roomId, oldHook.id);
      deleted = await createWebhook(s, admin, roomId, 'Deleted bot');
      await deleteWebhook(s, admin, roomId, deleted.id);
      const otherRoom = await createRoom(s.baseUrl, admin, 'Other room');
      other = await createWebhook(s, admin, otherRoom, 'Other bot');
      // "Room R51" of the vectors: 51 members, so @All and @Present are refused (Chime's rule).
      bigRoom = await createRoom(s.baseUrl, admin, 'R51');
      for (let i = 0; i < 50; i++) {
        const id = randomUUID();
        await s.backend.store.createUser({ id, email: `r51-${i}@example.com`, alias: `r51m${i}`, displayName: `R51 ${i}`, passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
        await s.backend.store.addMember(bigRoom, id, 'member', 1);
      }
      bigHook = await createWebhook(s, admin, bigRoom, 'R51 bot');
    });
    after(() => s.close());

    const count = async (room = roomId) => (await storedMessages(s.backend.store, room)).length;

    for (const [file, table] of BODY_FILES) {
      test(`${file}: the table pins every vector`, () => {
        assert.deepEqual(Object.keys(table).sort(), loadVectors(file).map((v) => v.name).sort());
      });

      describe(file, () => {
        for (const v of loadVectors(file)) {
          const expected = table[v.name];
          test(`${v.name} → ${expected ? `${expected[0]} ${expected[1] ?? ''}` : '(not pinned)'}`, async () => {
            assert.ok(expected, `vector ${v.name} is not pinned`);
            const target = v.name === 'duplicate_key_mention_smuggle' ? { w: bigHook, room: bigRoom } : { w: hook, room: roomId };
            const before = await count(target.room);
            const startedAt = clock.now();
            clock.advance(1000);
            const res = await rawRequest(port, { path: target.w.path, body: vectorBody(v), headers: { 'Content-Type': 'application/json' } });
            assertAnswer(res, expected, v.name);
            const after = await storedMessages(s.backend.store, target.room);
            if (expected[0] !== 200) {
              assert.equal(after.length, before, `${v.name}: nothing stored`);
              return;
            }
            assert.equal(after.length, before + 1, `${v.name}: stored once`);
            const m = after.at(-1)!;
            assert.equal(m.id, res.json.MessageId);
            assert.equal(m.roomId, target.room, 'posted in the webhook\'s own room, whatever the body says');
            assert.equal(m.content, expectedContent(v, expected));
            assert.deepEqual(m.sender, { type: 'webhook', id: target.w.id, name: target.w.name }, 'the sender is the webhook, whatever the body says');
            assert.ok(m.createdAt > startedAt, 'the server stamps the time');
            // Reloaded history equals what was stored.
            const listed = await call(s.baseUrl, 'GET', `/api/v1/rooms/${target.room}/messages?after=${m.seq - 1}&limit=1`, { token: admin.token });
            assert.equal(listed.body.messages[0].content, m.content);
          });
        }
      });
    }

    test('prototype pollution vectors changed no prototype in the server process', () => {
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    });

    test('no log line carries message content, raw control characters or a forged record', () => {
      const logs = s.logs.join('');
      assert.ok(!logs.includes('admin login succeeded'), 'content never reaches the logs');
      assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(logs), 'no raw control character in any log line');
      for (const line of s.logs) for (const record of line.split('\n').filter(Boolean)) JSON.parse(record);
    });

    describe('request-variants.jsonl', () => {
      const variants = loadVectors('request-variants.jsonl');
      const byName = new Map(variants.map((v) => [v.name, v]));
      const v = (name: string): TestVector => {
        const found = byName.get(name);
        assert.ok(found, `no vector ${name}`);
        return found;
      };
      const pct = (t: string) => [...t].map((c, i) => (i % 2 === 0 ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)).join('');
      const fill = (path: string): string =>
        path
          .replaceAll('{webhookIdUpper}', hook.id.toUpperCase())
          .replaceAll('{webhookId}', hook.id)
          .replaceAll('{deletedWebhookId}', deleted.id)
          .replaceAll('{otherWebhookId}', other.id)
          .replaceAll('{old_token}', oldHook.token)
          .replaceAll('{deleted_token}', deleted.token)
          .replaceAll('{token_pct}', pct(hook.token))
          .replaceAll('{token}', hook.token);
      const headersOf = (x: TestVector): [string, string][] =>
        (Array.isArray(x.headers) ? x.headers : Object.entries(x.headers ?? {})).map(([k, val]) => [
          k,
          val.replace('{random_ip}', `10.${Math.floor(Math.random() * 255)}.0.1`).replace('{session_cookie}', `carillon_session=${admin.token}`),
        ]);
      /** Sends a vector as it is written, a second after the last request. */
      const send = (x: TestVector, extra: [string, string][] = []): Promise<RawResponse> => {
        clock.advance(1000);
        const body = vectorBody(x);
        return rawRequest(port, { method: x.method ?? 'POST', path: fill(x.path ?? ''), headers: [...headersOf(x), ...extra], ...(body.length > 0 || x.method === 'POST' ? { body } : {}) });
      };

      // Vectors answered by plain status + Code. SPEC 2.2 (parse as JSON whatever the Content-Type)
      // wins over the vectors that suggest 415 for text/plain or form types.
      const simple: Record<string, Expect> = {
        baseline_valid: [200, null, 'variant probe'],
        method_get: [405, 'MethodNotAllowed'],
        method_head: [405, 'MethodNotAllowed'],
        method_put: [405, 'MethodNotAllowed'],
        method_delete: [405, 'MethodNotAllowed'],
        method_patch: [405, 'MethodNotAllowed'],
        method_options_preflight: [405, 'MethodNotAllowed'],
        // Pinned: 200, as real clients (AWS's GitHub Action, pyChime) send no Content-Type.
        ctype_missing: [200, null, 'variant probe'],
        // Pinned: 200, never parsed as form data: the body is JSON whatever the type says.
        ctype_text_plain: [200, null, 'variant probe'],
        // SPEC 2.2: awswrangler sends its JSON as application/x-www-form-urlencoded.
        ctype_form_urlencoded: [200, null, 'variant probe'],
        ctype_multipart: BAD(),
        ctype_json_charset_utf8: [200, null, 'variant probe'],
        ctype_json_uppercase: [200, null, 'variant probe'],
        // SPEC 2.2: the type is not looked at, so a malformed one changes nothing.
        ctype_json_garbage_suffix: [200, null, 'variant probe'],
        // Pinned: 400. The charset parameter is ignored, the bytes must be UTF-8: never mojibake.
        ctype_json_latin1_charset: BAD(),
        // Pinned: 200.
        ctype_vendor_json: [200, null, 'variant probe'],
        token_missing: [403, 'InvalidWebhook'],
        token_empty: [403, 'InvalidWebhook'],
        token_wrong: [403, 'InvalidWebhook'],
        token_param_wrong_case: [403, 'InvalidWebhook'],
        token_duplicated_valid_first: [403, 'InvalidWebhook'],
        token_duplicated_valid_second: [403, 'InvalidWebhook'],
        token_array_syntax: [403, 'InvalidWebhook'],
        token_object_syntax: [403, 'InvalidWebhook'],
        token_trailing_space: [403, 'InvalidWebhook'],
        token_trailing_nul: [403, 'InvalidWebhook'],
        token_crlf_header_injection: [403, 'InvalidWebhook'],
        // Pinned: 200, percent-decoding the query is normal URL semantics (SPEC 2.1).
        token_percent_encoded_chars: [200, null, 'variant probe'],
        token_old_after_regenerate: [404, 'WebhookNotFound'],
        webhook_deleted: [404, 'WebhookNotFound'],
        // Pinned: 403, as Chime answered invalid URLs; 404 is kept for URLs that were valid once.
        webhook_unknown_id: [403, 'InvalidWebhook'],
        webhook_id_of_other_room_with_my_token: [403, 'InvalidWebhook'],
        // Pinned: 403. Ids are lower-case UUIDs (SPEC 2.1); another spelling is a malformed id.
        webhook_id_uppercase: [403, 'InvalidWebhook'],
        webhook_id_path_traversal: [403, 'InvalidWebhook'],
        // SPEC 2.1: a trailing slash is accepted.
        webhook_id_trailing_slash: [200, null, 'variant probe'],
        // Pinned: 404 NotFound. "//incomingwebhooks//…" is not a webhook URL; nothing authenticates.
        webhook_id_double_slash: [404, 'NotFound'],
        header_host_poison: [200, null, 'variant probe'],
        header_session_cookie_ignored: [403, 'InvalidWebhook'],
        header_origin_evil: [200, null, 'variant probe'],
        // Pinned: 415. No real Chime client compresses; inflating would let 13 KB become 10 MiB.
        gzip_bomb_10MiB: [415, 'UnsupportedMediaType'],
        content_encoding_unknown: [415, 'UnsupportedMediaType'],
      };
      // Vectors that need more than one request or a raw socket: tested one by one below.
      const special = new Set([
        'token_100KB',
        'header_xff_rotation',
        'header_cl_te_conflict',
        'header_content_length_too_small',
        'header_expect_100_large',
        'slowloris_headers',
      ]);

      test('every request variant is pinned', () => {
        assert.deepEqual([...Object.keys(simple), ...special].sort(), variants.map((x) => x.name).sort());
      });

      for (const [name, expected] of Object.entries(simple)) {
        test(`${name} → ${expected[0]} ${expected[1] ?? ''}`, async () => {
          const x = v(name);
          const before = await count();
          const res = await send(x);
          if (x.method === 'HEAD') {
            assert.equal(res.status, 405);
            assert.match(String(res.headers['content-type']), JSON_TYPE);
          } else {
            assertAnswer(res, expected, name);
          }
          assert.equal(await count(), before + (expected[0] === 200 ? 1 : 0));
          if (expected[0] === 200) {
            const m = (await storedMessages(s.backend.store, roomId)).at(-1)!;
            assert.equal(m.content, expectedContent(x, expected));
          }
          if (expected[0] === 405) assert.equal(res.headers.allow, 'POST');
          // No CORS, ever: nothing to reflect an evil Origin with credentials.
          assert.equal(res.headers['access-control-allow-origin'], undefined);
          assert.equal(res.headers['access-control-allow-credentials'], undefined);
          assert.equal(res.headers['set-cookie'], undefined, 'no header injected');
          assert.ok(!res.text.includes(hook.token), 'the token is never echoed');
        });
      }

      test('method_delete did not delete the webhook', async () => {
        assert.equal((await send(v('baseline_valid'))).status, 200);
      });

      test('token_wrong reveals nothing about the id: the same answer for a known and an unknown id', async () => {
        const x = v('token_wrong');
        const known = await send(x);
        const unknown = await send({ ...x, path: x.path!.replace('{webhookId}', randomUUID()) });
        assertAnswer(unknown, [403, 'InvalidWebhook'], x.name);
        assert.equal(known.text, unknown.text);
        // The same holds for a well-formed (72-character) wrong token.
        const wellFormed = { ...x, path: `/incomingwebhooks/{webhookId}?token=${'W'.repeat(72)}` };
        const a = await send(wellFormed);
        const b = await send({ ...wellFormed, path: wellFormed.path.replace('{webhookId}', randomUUID()) });
        assert.equal(a.text, b.text);
      });

      test('header_host_poison: URLs come from PUBLIC_URL, never from Host or X-Forwarded-Host', async () => {
        const res = await rawRequest(port, {
          method: 'GET',
          path: `/api/v1/rooms/${roomId}/webhooks`,
          headers: [['Host', 'evil.example'], ['X-Forwarded-Host', 'evil.example'], ['Authorization', `Bearer ${admin.token}`]],
        });
        assert.equal(res.status, 200, res.text);
        for (const w of res.json.webhooks) assert.ok(w.url.startsWith(`${s.config.publicUrl}/incomingwebhooks/`), w.url);
        assert.ok(!res.text.includes('evil.example'));
      });

      test('token_crlf_header_injection: the access log stays one record per line, token and injected text redacted', () => {
        const logged = s.logs.filter((l) => l.includes(`/incomingwebhooks/${hook.id}?token=REDACTED`));
        assert.ok(logged.length > 0, 'webhook requests are logged');
        for (const l of s.logs) assert.equal(l.trimEnd().split('\n').length, 1, 'one record per line');
        const all = s.logs.join('');
        assert.ok(!all.includes('Set-Cookie') && !all.includes('pwn=1'), 'the value after token= is redacted whole');
        assert.ok(!all.includes(hook.token) && !all.includes(oldHook.token));
      });

      test('header_xff_rotation → 200 then 429: the limit is per webhook, not per client address', async () => {
        const x = v('header_xff_rotation');
        const first = await send(x);
        assert.equal(first.status, 200);
        // Same instant, another address: still the same webhook's bucket.
        const body = vectorBody(x);
        const second = await rawRequest(port, { path: fill(x.path!), headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', '192.0.2.77']], body });
        assertAnswer(second, [429, 'Throttled'], x.name);
        assert.equal(second.headers['retry-after'], '1');
      });

      test('token_100KB → 431 HeadersTooLarge JSON at once (Node refuses request heads over 16 KiB); token not logged', async () => {
        const x = v('token_100KB');
        const path = fill(x.path!);
        const r = await rawSocket(port, (sock) => sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n${x.body}`));
        assert.deepEqual(r.statuses, [431]);
        assert.equal(r.json?.Code, 'HeadersTooLarge');
        assert.ok(r.closedByServer);
        assert.ok(!s.logs.join('').includes('A'.repeat(200)));
      });

      test('header_cl_te_conflict → 400 JSON and the connection closed (request-smuggling guard)', async () => {
        const before = await count();
        clock.advance(1000);
        const x = v('header_cl_te_conflict');
        const r = await rawSocket(port, (sock) =>
          sock.write(`POST ${fill(x.path!)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${x.body}`),
        );
        assert.deepEqual(r.statuses, [400]);
        assert.equal(r.json?.Code, 'InvalidRequest');
        assert.ok(r.closedByServer);
        assert.equal(await count(), before);
      });

      test('header_content_length_too_small → 400 JSON, never a message, connection closed', async () => {
        const before = await count();
        clock.advance(1000);
        const x = v('header_content_length_too_small');
        const r = await rawSocket(port, (sock) => sock.write(`POST ${fill(x.path!)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n${x.body}`));
        assert.ok(r.statuses.length >= 1 && r.statuses.every((st) => st === 400), `statuses ${r.statuses}`);
        assert.ok(['InvalidPayload', 'InvalidRequest'].includes(r.json?.Code), r.text);
        assert.ok(r.closedByServer);
        assert.equal(await count(), before);
      });

      test('header_expect_100_large → 413 before the body is read, no "100 Continue"', async () => {
        clock.advance(1000);
        const x = v('header_expect_100_large');
        // A webhook of its own: in the test before, Node answers the leftover bytes' parse error and
        // closes the socket while the first request may still be authenticating (a slow store under
        // load); that request then spends the shared webhook's token at this test's clock.
        const own = await createWebhook(s, admin, roomId, 'Expect probe');
        const path = x.path!.replace('{webhookId}', own.id).replace('{token}', own.token);
        const r = await rawSocket(port, (sock) =>
          sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10485760\r\n\r\n`),
        );
        assert.deepEqual(r.statuses, [413]);
        assert.equal(r.json?.Code, 'PayloadTooLarge');
        assert.ok(r.closedByServer);
      });

      test('slowloris_headers → the trickling connection gets 408 JSON and is closed; other posts go through meanwhile', async () => {
        const x = v('slowloris_headers');
        // The server's header timeout is 10 s; shortened here so the test does not wait for it.
        const saved = s.app.server.headersTimeout;
        s.app.server.headersTimeout = 1_000;
        try {
          const head = `POST ${fill(x.path!)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: ${'z'.repeat(400)}`;
          let sentAll = false;
          const slow = rawSocket(port, async (sock) => {
            for (const ch of head) {
              if (sock.destroyed || !sock.writable) return;
              sock.write(ch);
              await sleep(10);
            }
            sentAll = true;
          }, 15_000);
          await sleep(100);
          clock.advance(1000);
          assert.equal((await rawRequest(port, { path: hook.path, body: '{"Content": "not slowed down"}' })).status, 200);
          const r = await slow;
          assert.equal(sentAll, false, 'the server gave up before the headers were complete');
          assert.deepEqual(r.statuses, [408]);
          assert.equal(r.json?.Code, 'RequestTimeout');
          assert.ok(r.closedByServer);
        } finally {
          s.app.server.headersTimeout = saved;
        }
      });
    });
  });
}
