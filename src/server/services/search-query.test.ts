/** The search query language, times, cursors and snippet HTML (issue 14), without a database. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Parser } from 'htmlparser2';
import { AppError } from '../errors.js';
import { SNIPPET_END, SNIPPET_START } from '../store/search-text.js';
import { SEARCH_MAX_WORDS, decodeSearchCursor, encodeSearchCursor, parseSearchQuery, parseSearchTime, snippetHtml } from './search-query.js';

const invalid = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e) => e instanceof AppError && e.code === 'InvalidRequest' && message.test(e.message));

describe('parseSearchQuery', () => {
  test('words, "phrases" and prefixes*', () => {
    assert.deepEqual(parseSearchQuery('disk full'), [
      { words: ['disk'], prefix: false },
      { words: ['full'], prefix: false },
    ]);
    assert.deepEqual(parseSearchQuery('"disk full" deplo*'), [
      { words: ['disk', 'full'], prefix: false },
      { words: ['deplo'], prefix: true },
    ]);
    assert.deepEqual(parseSearchQuery('"disk ful"*'), [{ words: ['disk', 'ful'], prefix: true }]);
    assert.deepEqual(parseSearchQuery('  Café   ÉCOLE '), [
      { words: ['Café'], prefix: false },
      { words: ['ÉCOLE'], prefix: false },
    ]);
  });

  test('punctuation separates words, as in the index: a word with it is a phrase', () => {
    assert.deepEqual(parseSearchQuery('ci.example.com/builds'), [{ words: ['ci', 'example', 'com', 'builds'], prefix: false }]);
    assert.deepEqual(parseSearchQuery('db-01:5432'), [{ words: ['db', '01', '5432'], prefix: false }]);
    assert.deepEqual(parseSearchQuery('✅deploy'), [{ words: ['deploy'], prefix: false }]);
  });

  test('query syntax of FTS5 and tsquery is plain text', () => {
    assert.deepEqual(parseSearchQuery('a AND b OR NOT c'), ['a', 'AND', 'b', 'OR', 'NOT', 'c'].map((w) => ({ words: [w], prefix: false })));
    assert.deepEqual(parseSearchQuery('NEAR(a b, 2)'), [
      { words: ['NEAR', 'a'], prefix: false },
      { words: ['b'], prefix: false },
      { words: ['2'], prefix: false },
    ]);
    assert.deepEqual(parseSearchQuery('-x col:y ^z x&y !w <-> a:*'), [
      { words: ['x'], prefix: false },
      { words: ['col', 'y'], prefix: false },
      { words: ['z'], prefix: false },
      { words: ['x', 'y'], prefix: false },
      { words: ['w'], prefix: false },
      { words: ['a'], prefix: false },
    ]);
    // A star that does not end a word is a separator; one after punctuation is no prefix.
    assert.deepEqual(parseSearchQuery('de*ploy deploy-*'), [
      { words: ['de', 'ploy'], prefix: false },
      { words: ['deploy'], prefix: false },
    ]);
  });

  test('a prefix needs 2 characters at least → else 400', () => {
    assert.deepEqual(parseSearchQuery('de*'), [{ words: ['de'], prefix: true }]);
    assert.deepEqual(parseSearchQuery('"disk fu"* 東京*'), [
      { words: ['disk', 'fu'], prefix: true },
      { words: ['東京'], prefix: true },
    ]);
    invalid(() => parseSearchQuery('d*'), /A prefix needs at least 2 characters before the \*/);
    invalid(() => parseSearchQuery('"disk f"*'), /A prefix needs at least 2/);
    invalid(() => parseSearchQuery('deploy x*'), /A prefix needs at least 2/);
  });

  test('an unbalanced quote runs to the end; a quote inside a word starts a phrase', () => {
    assert.deepEqual(parseSearchQuery('"disk full'), [{ words: ['disk', 'full'], prefix: false }]);
    assert.deepEqual(parseSearchQuery('foo"bar baz'), [
      { words: ['foo'], prefix: false },
      { words: ['bar', 'baz'], prefix: false },
    ]);
    assert.deepEqual(parseSearchQuery('""" x'), [{ words: ['x'], prefix: false }]);
  });

  test('NUL and the snippet markers are white space; a lone surrogate a separator', () => {
    assert.deepEqual(parseSearchQuery(`a\u0000b c${SNIPPET_START}d${SNIPPET_END}e`), ['a', 'b', 'c', 'd', 'e'].map((w) => ({ words: [w], prefix: false })));
    assert.deepEqual(parseSearchQuery('x\ud800y'), [{ words: ['x', 'y'], prefix: false }]);
  });

  test('nothing to search for → 400 saying what to type', () => {
    for (const q of ['', '   ', '*', '"" ""', '- : ( ) * " ~ ^', '🎉 ✅ —', '\u0000']) {
      invalid(() => parseSearchQuery(q), /Nothing to search for\. Type one or more words/);
    }
  });

  test(`more than ${SEARCH_MAX_WORDS} words → 400`, () => {
    assert.equal(parseSearchQuery(Array.from({ length: SEARCH_MAX_WORDS }, (_, i) => `w${i}`).join(' ')).length, SEARCH_MAX_WORDS);
    invalid(() => parseSearchQuery('a.'.repeat(SEARCH_MAX_WORDS + 1)), /use at most 32/);
  });
});

describe('parseSearchTime', () => {
  test('epoch ms, a date (whole day, UTC), a date-time (UTC unless an offset)', () => {
    assert.equal(parseSearchTime('1700000000000', 'since'), 1_700_000_000_000);
    assert.equal(parseSearchTime('2024-05-31', 'since'), Date.UTC(2024, 4, 31));
    assert.equal(parseSearchTime('2024-05-31', 'until'), Date.UTC(2024, 4, 31) + 86_400_000 - 1);
    assert.equal(parseSearchTime('2024-05-31T14:00:00Z', 'since'), Date.UTC(2024, 4, 31, 14));
    assert.equal(parseSearchTime('2024-05-31T14:00', 'since'), Date.UTC(2024, 4, 31, 14));
    assert.equal(parseSearchTime('2024-05-31T14:00:00.5+02:00', 'until'), Date.UTC(2024, 4, 31, 12, 0, 0, 500));
  });

  test('anything else → 400 naming the field', () => {
    for (const v of ['yesterday', '2024-02-31', '2024-13-01', '31/05/2024', '-5', '1e3', '2024-05-31T25:00Z', '99999999999999999', '']) {
      invalid(() => parseSearchTime(v, 'until'), /Field 'until' must be a date/);
    }
  });
});

describe('cursor', () => {
  test('round trip; anything else → 400', () => {
    const c = encodeSearchCursor({ createdAt: 1234, id: 'abc' });
    assert.match(c, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeSearchCursor(c), { createdAt: 1234, id: 'abc' });
    for (const bad of ['x', Buffer.from('[1]').toString('base64url'), Buffer.from('[1.5,"a"]').toString('base64url'), Buffer.from('["1","a"]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
      invalid(() => decodeSearchCursor(bad), /not a cursor this server gave/);
    }
  });
});

/** The snippet HTML parsed as a browser would: its elements, and its text. */
function parse(html: string): { tags: string[]; attributes: number; text: string; marked: string[] } {
  const tags: string[] = [];
  const marked: string[] = [];
  let attributes = 0;
  let text = '';
  let inMark = false;
  const p = new Parser(
    {
      onopentag(name, attrs) {
        tags.push(name);
        attributes += Object.keys(attrs).length;
        if (name === 'mark') {
          inMark = true;
          marked.push('');
        }
      },
      onclosetag(name) {
        if (name === 'mark') inMark = false;
      },
      ontext(t) {
        text += t;
        if (inMark) marked[marked.length - 1] += t;
      },
      oncomment() {
        tags.push('#comment');
      },
      onprocessinginstruction(name) {
        tags.push(`#pi:${name}`);
      },
    },
    { decodeEntities: true },
  );
  p.write(html);
  p.end();
  return { tags, attributes, text, marked };
}

describe('snippetHtml', () => {
  test('escapes everything, then marks: no markup of the content survives', () => {
    const html = snippetHtml(`<img src=x onerror=alert(1)> "${SNIPPET_START}deploy${SNIPPET_END}" & 'x' </mark><mark>`);
    const p = parse(html);
    assert.deepEqual(p.tags, ['mark']);
    assert.equal(p.attributes, 0);
    assert.deepEqual(p.marked, ['deploy']);
    assert.equal(p.text, `<img src=x onerror=alert(1)> "deploy" & 'x' </mark><mark>`);
  });

  test('markers are balanced whatever the input', () => {
    assert.equal(snippetHtml(`${SNIPPET_START}a`), '<mark>a</mark>');
    assert.equal(snippetHtml(`a${SNIPPET_END}b${SNIPPET_START}${SNIPPET_START}c${SNIPPET_END}${SNIPPET_END}`), 'ab<mark>c</mark>');
  });

  test('bidi overrides are shown, not applied (as in message HTML)', () => {
    assert.equal(snippetHtml('invoice_\u202Efdp.exe'), 'invoice_[U+202E]fdp.exe');
  });
});
