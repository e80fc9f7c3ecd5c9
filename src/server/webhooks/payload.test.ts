import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../errors.js';
import { parseWebhookBody } from './payload.js';

const parse = (body: string | Buffer) => parseWebhookBody(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
const refusal = (body: string | Buffer): string => {
  try {
    parse(body);
  } catch (e) {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'InvalidPayload');
    return e.message;
  }
  assert.fail('accepted');
};

test('Content wins; else the first key equal to "content" ignoring ASCII case (SPEC 2.2)', () => {
  assert.deepEqual(parse('{"content": "a", "Content": "b"}'), { content: 'b', key: 'Content' });
  assert.deepEqual(parse('{"CONTENT": "a", "content": "b"}'), { content: 'a', key: 'CONTENT' });
  // Not a case variant: a Kelvin sign or a dotless i is not an ASCII letter.
  refusal('{"\u212Aontent": "x"}');
  refusal('{"Conten\u0131": "x"}');
});

test('Messages say what to fix', () => {
  assert.match(refusal('{"text": "hello"}'), /found key 'text'\); the key is 'Content'/);
  assert.match(refusal('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}'), /found keys 'a', 'b', 'c', 'd', 'e' and 1 more/);
  assert.match(refusal('{"Content": null}'), /'Content' must be a string .* not null/);
  assert.match(refusal('{"content": ["x"]}'), /'content' must be a string .* not an array/);
  assert.match(refusal('payload={"Content":"x"}'), /form field \(payload=…\)/);
  assert.match(refusal('{"Content":"one"}{"Content":"two"}'), /one JSON object per request/);
  assert.match(refusal('{"Content": "x",}'), /not valid JSON/);
  assert.match(refusal(Buffer.from('\ufeff{"Content":"x"}', 'utf16le')), /UTF-16/);
  assert.match(refusal(Buffer.from('{"Content":"x"}', 'utf16le')), /NUL bytes/);
  assert.match(refusal(Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d])), /not valid UTF-8/);
});

test('a leading byte-order mark is skipped; one inside the text is kept', () => {
  assert.equal(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"Content":"x"}')])).content, 'x');
  assert.equal(parse('{"Content":"\ufeffx"}').content, '\ufeffx');
});

test('"__proto__" is an ordinary key: no prototype is read or changed', () => {
  refusal('{"__proto__": {"Content": "via prototype"}}');
  assert.equal(parse('{"Content": "x", "__proto__": {"polluted": 1}}').content, 'x');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('the content is returned exactly, escapes decoded (Python clients send \\uXXXX, Node clients raw UTF-8)', () => {
  const text = 'Déploiement réussi ✅ 日本語 🎉';
  assert.equal(parse(JSON.stringify({ Content: text })).content, text);
  assert.equal(parse('{"Content": "D\\u00e9ploiement r\\u00e9ussi \\u2705 \\u65e5\\u672c\\u8a9e \\ud83c\\udf89"}').content, text);
});
